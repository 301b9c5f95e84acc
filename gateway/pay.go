package gateway

import (
	"fmt"
	"net/http"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/redeemer"
)

// payment is the spend made for one request.
type payment struct {
	paid  bool // tokens were presented and spent (or replayed)
	spend redeemer.Spend
}

// consumed is the ConsumedHeader value of a successful answer.
func (p payment) consumed() string {
	if p.spend.Replayed {
		return "replayed"
	}
	return "true"
}

// pay takes exactly cost tokens from the Authorization header and spends
// them, all or none, under binding.
func (g *Gateway) pay(req *http.Request, cost int, binding []byte) (payment, error) {
	tokens, err := g.sp.TokensFromRequest(req)
	if err != nil {
		return payment{}, err
	}
	if len(tokens) == 0 {
		return payment{}, problem.New(problem.Unauthorized, "token-required", "this model needs Privacy Pass tokens").
			WithHeader("WWW-Authenticate", g.sp.Challenge())
	}
	if len(tokens) != cost {
		var e *problem.Error
		if len(tokens) < cost {
			e = ErrTooFewTokens.WithHeader("WWW-Authenticate", g.sp.Challenge())
		} else {
			e = ErrTooManyTokens
		}
		return payment{}, e.With(fmt.Sprintf("this model costs %d tokens per request; the request carries %d", cost, len(tokens))).
			WithExtension("cost", cost).WithExtension("tokens_presented", len(tokens))
	}
	s, err := g.sp.Spend(req.Context(), tokens, binding)
	if err != nil {
		return payment{}, withConsumedHeader(err)
	}
	return payment{paid: true, spend: s}, nil
}

// withConsumedHeader makes sure a spend problem that says whether the
// tokens were consumed (extension tokens_consumed: true, false or
// "unknown") also says so in ConsumedHeader, the one clients read first.
func withConsumedHeader(err error) error {
	p, ok := problem.As(err)
	if !ok || p.Header.Get(ConsumedHeader) != "" {
		return err
	}
	switch v := p.Extensions["tokens_consumed"]; v {
	case true:
		return p.WithHeader(ConsumedHeader, "true")
	case false:
		return p.WithHeader(ConsumedHeader, "false")
	case "unknown":
		return p.WithHeader(ConsumedHeader, "unknown")
	}
	return err
}
