// Package cmdutil holds what the command lines of blindpass and blindpassd
// share about cobra.
package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// RequireSubcommand makes every command in the tree that only groups
// subcommands (`blindpass wallet`, `blindpassd keys`) refuse an unknown
// subcommand with an error naming the closest ones, where cobra would print
// the group's help and succeed (`wallet balanse` exited 0). Without an
// argument the group still prints its help. wrap marks the error as a
// usage error for the caller's exit code.
func RequireSubcommand(c *cobra.Command, wrap func(error) error) {
	for _, sub := range c.Commands() {
		RequireSubcommand(sub, wrap)
	}
	if !c.HasSubCommands() || c.Runnable() || !c.HasParent() {
		return // the root's unknown commands are cobra's own, with suggestions
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return wrap(UnknownSubcommand(cmd, args[0]))
	}
}

// UnknownSubcommand is the error for a name that is none of cmd's
// subcommands, with the closest ones as suggestions.
func UnknownSubcommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return fmt.Errorf("%s\nrun '%s --help' for usage", msg, cmd.CommandPath())
}
