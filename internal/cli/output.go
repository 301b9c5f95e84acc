package cli

import (
	"encoding/json"
	"fmt"
)

// printJSON writes v as one line of JSON on stdout.
func (a *App) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(a.Stdout, "%s\n", b)
	return err
}

// say prints a human message on stdout, unless --json is on.
func (a *App) say(g *globals, format string, args ...any) {
	if !g.json {
		fmt.Fprintf(a.Stdout, format, args...)
	}
}
