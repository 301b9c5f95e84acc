// Command blindpassd runs the Blindpass server roles: `dev` (everything in
// one process), `issuer`, `redeemer`, and the operator commands `migrate`
// and `keys`. See `blindpassd --help`.
package main

import (
	"os"

	"github.com/blindpass/blindpass/internal/daemon"
)

func main() {
	os.Exit(daemon.Main(os.Args[1:], os.Stdout, os.Stderr))
}
