package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client"
	"github.com/blindpass/blindpass/protocol"
)

type trustOptions struct {
	redeemer, digest string
}

func (a *App) newTrustChallengeCmd(g *globals) *cobra.Command {
	var o trustOptions
	cmd := &cobra.Command{
		Use:   "trust-challenge [--redeemer URL] [--digest HEX]",
		Short: "Accept a redeemer's new token challenge after checking it out of band",
		Long: `The wallet remembers each redeemer's token challenge the first time it meets it, and buy, refill
and the proxy use the remembered one instead of asking again. A redeemer that changed its
challenge is refused: it could hand each client its own challenge to tell clients apart.

trust-challenge asks the redeemer for its current challenge, checks it names this redeemer
(origin) and, with --digest, that its digest is the one the operator published (compare it
through another channel: their website, an announcement, another network), then remembers it.
Tokens made for the previous challenge stay in the wallet but are not spent at this redeemer.`,
		Example: `  blindpass wallet trust-challenge --redeemer https://chat.example --digest 3f2a9c…`,
		Args:    args(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return a.trustChallenge(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL (env "+envRedeemer+"; default: remembered)")
	f.StringVar(&o.digest, "digest", "", "the challenge digest (hex SHA-256, at least 16 digits) you checked out of band")
	return cmd
}

func (a *App) trustChallenge(ctx context.Context, g *globals, o trustOptions) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	redeemer, err := a.needURL(redeemerService, o.redeemer, s.settings.RedeemerURL, "trust-challenge")
	if err != nil {
		return err
	}
	res, err := s.c.TrustChallenge(ctx, redeemer, o.digest)
	if err != nil {
		return err
	}
	if g.json {
		out := map[string]any{"redeemer": res.Redeemer, "digest": client.ChallengeDigest(res.Challenge),
			"issuer_name": res.Challenge.IssuerName, "origin_info": res.Challenge.OriginInfo, "changed": res.Changed}
		if res.Previous != nil {
			out["previous_digest"] = client.ChallengeDigest(*res.Previous)
		}
		return a.printJSON(out)
	}
	fmt.Fprintf(a.Stdout, "Redeemer %s\n  challenge %s\n", res.Redeemer, describeChallenge(res.Challenge))
	switch {
	case res.Previous == nil:
		fmt.Fprintln(a.Stdout, "Remembered (the wallet knew no challenge for it).")
	case !res.Changed:
		fmt.Fprintln(a.Stdout, "Unchanged: the wallet already trusts this challenge.")
	default:
		fmt.Fprintf(a.Stdout, "  replaces %s\nTokens made for the previous challenge stay in the wallet but are not spent here.\n", describeChallenge(*res.Previous))
	}
	return nil
}

// describeChallenge is one line naming a challenge for a person.
func describeChallenge(tc protocol.TokenChallenge) string {
	return fmt.Sprintf("%s (issuer %q, origins %q)", client.ChallengeDigest(tc), tc.IssuerName, strings.Join(tc.OriginInfo, ","))
}
