// Command blindpass is the Blindpass end-user CLI: buy Privacy Pass tokens,
// keep them in a wallet, chat with premium models and serve a local
// OpenAI-compatible proxy. See `blindpass --help` and docs/cli.md.
package main

import (
	"os"

	"github.com/blindpass/blindpass/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
