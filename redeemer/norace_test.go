//go:build !race

package redeemer

const raceEnabled = false
