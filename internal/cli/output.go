package cli

import (
	"encoding/json"
	"fmt"
	"time"
)

// printJSON writes v as one line of JSON on stdout.
func (a *App) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

// say prints a human message on stdout, unless --json is on.
func (a *App) say(g *globals, format string, args ...any) {
	if !g.json {
		fmt.Fprintf(a.stdout, format, args...)
	}
}

// count writes n with the singular or plural noun: "1 token", "2 tokens".
func count(n int, singular, plural string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, singular)
	}
	return fmt.Sprintf("%d %s", n, plural)
}

// localTime writes t in the local time zone, naming the zone.
func localTime(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04 MST")
}
