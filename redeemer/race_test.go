//go:build race

package redeemer

// raceEnabled: the race detector slows everything down; heavy tests scale down.
const raceEnabled = true
