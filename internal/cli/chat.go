package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/client"
)

type chatOptions struct {
	redeemer, model, system string
	noStream                bool
}

func (a *App) newChatCmd(g *globals) *cobra.Command {
	var o chatOptions
	cmd := &cobra.Command{
		Use:   `chat [--redeemer URL] --model M "prompt"`,
		Short: "Ask a premium model; the answer streams to the terminal",
		Long: `chat sends one prompt to a model of the redeemer's OpenAI-compatible gateway, paying with
tokens from the wallet (as many as the model costs, drawn at random), and prints the answer as it
arrives. The prompt is the arguments, or stdin when there are none or the only one is "-".

Nothing but the tokens and the prompt is sent: no account, no key, no identifying header.
Tokens the redeemer did not consume (the model failed before answering) go back to the wallet.
Without --model, the models and their cost are listed.`,
		Example: `  blindpass chat --redeemer http://127.0.0.1:8701 --model blindpass-pro "What is Privacy Pass?"
  echo "Summarise this" | blindpass chat --model blindpass-max
  blindpass chat --model blindpass-pro --no-stream --json "hi"   # the model's JSON answer`,
		RunE: func(cmd *cobra.Command, a2 []string) error { return a.chat(cmd.Context(), g, o, a2) },
	}
	f := cmd.Flags()
	f.StringVar(&o.redeemer, "redeemer", "", "redeemer URL (env "+envRedeemer+"; default: remembered)")
	f.StringVarP(&o.model, "model", "m", "", "model ID (without it, the models are listed)")
	f.StringVar(&o.system, "system", "", "a system message to send before the prompt")
	f.BoolVar(&o.noStream, "no-stream", false, "wait for the whole answer instead of streaming it")
	return cmd
}

func (a *App) chat(ctx context.Context, g *globals, o chatOptions, argv []string) error {
	s, err := a.open(g)
	if err != nil {
		return err
	}
	redeemer, err := a.needURL(redeemerService, o.redeemer, s.settings.RedeemerURL, "chat")
	if err != nil {
		return err
	}
	models, err := s.c.Models(ctx, redeemer)
	if err != nil {
		return err
	}
	cost, ok := client.ModelCost(models, o.model)
	if !ok {
		return usageErrorf("%s; the models at %s:%s", modelProblem(o.model), redeemer, listModels(models))
	}
	prompt, err := a.prompt(argv)
	if err != nil {
		return err
	}
	stream := !o.noStream && !g.json
	var messages []map[string]string
	if o.system != "" {
		messages = append(messages, map[string]string{"role": "system", "content": o.system})
	}
	messages = append(messages, map[string]string{"role": "user", "content": prompt})
	body, err := json.Marshal(map[string]any{"model": o.model, "messages": messages, "stream": stream})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, redeemer+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := s.c.Do(ctx, req, cost)
	if errors.Is(err, client.ErrNoTokens) {
		return s.noTokens(redeemer, err)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return answerError(resp)
	}
	s.remember("", redeemer)
	switch {
	case g.json:
		_, err = io.Copy(a.stdout, io.LimitReader(resp.Body, maxAnswer))
	case stream:
		err = printStream(a.stdout, resp.Body)
	default:
		err = printAnswer(a.stdout, resp.Body)
	}
	if err != nil {
		return fmt.Errorf("the answer from %s: %w (its tokens were spent)", redeemer, err)
	}
	return nil
}

// prompt is the arguments joined, or stdin for none or "-".
func (a *App) prompt(argv []string) (string, error) {
	if len(argv) > 0 && !(len(argv) == 1 && argv[0] == "-") {
		return strings.Join(argv, " "), nil
	}
	if len(argv) == 0 && a.interactive() {
		return "", usageErrorf(`chat needs a prompt: blindpass chat --model M "your question" (or pipe it in)`)
	}
	b, err := io.ReadAll(io.LimitReader(a.Stdin, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("read the prompt from stdin: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", usageErrorf("the prompt is empty")
	}
	return string(b), nil
}

// noTokens explains an empty wallet: refill when it holds orders that may
// have credit, else how to buy.
func (s *session) noTokens(redeemer string, err error) error {
	issuers, oerr := orderIssuers(s.w, "")
	if oerr == nil && len(issuers) > 0 {
		return fmt.Errorf("no tokens for %s left in the wallet; your orders may have credit left: run `blindpass refill --redeemer %s` (or buy more with `blindpass buy --plan ID`)", redeemer, redeemer)
	}
	if s.settings.IssuerURL != "" {
		return fmt.Errorf("no tokens for %s in the wallet: buy some with `blindpass buy --issuer %s --redeemer %s --plan ID` or redeem a voucher with `blindpass voucher CODE`", redeemer, s.settings.IssuerURL, redeemer)
	}
	// One sentence, not the SDK's chain "…refill` (URL): wallet: not enough
	// tokens: need 1, …".
	return fmt.Errorf("not enough tokens for %s in the wallet: buy some with `blindpass buy --issuer URL --redeemer %s --plan ID` (URL: the issuer of this service) or redeem a voucher with `blindpass voucher CODE --issuer URL`", redeemer, redeemer)
}

func modelProblem(model string) string {
	if model == "" {
		return "choose a model with --model"
	}
	return fmt.Sprintf("unknown model %q", model)
}

func listModels(models []client.Model) string {
	var b strings.Builder
	for _, m := range models {
		switch m.Cost {
		case 0:
			fmt.Fprintf(&b, "\n  %-20s free", m.ID)
		case 1:
			fmt.Fprintf(&b, "\n  %-20s 1 token per request", m.ID)
		default:
			fmt.Fprintf(&b, "\n  %-20s %s per request", m.ID, count(m.Cost, "token", "tokens"))
		}
	}
	if b.Len() == 0 {
		return " none"
	}
	return b.String()
}
