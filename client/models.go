package client

import (
	"context"
	"net/http"
)

// Model is one model a redeemer's gateway offers, with its cost in tokens
// per request (0 = free).
type Model struct {
	ID   string `json:"id"`
	Cost int    `json:"cost"`
}

// Models lists the models of the gateway at redeemerURL (GET /v1/models,
// free).
func (c *Client) Models(ctx context.Context, redeemerURL string) ([]Model, error) {
	base, err := parseBaseURL(redeemerURL)
	if err != nil {
		return nil, err
	}
	a, err := c.retrying(ctx, ErrRedeemerUnreachable, http.MethodGet, base.JoinPath("/v1/models").String(),
		http.Header{"Accept": {"application/json"}}, nil, maxJSONBody)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, a.problem(nil)
	}
	var list struct {
		Data []Model `json:"data"`
	}
	if err := a.decodeJSON(&list); err != nil {
		return nil, err
	}
	return list.Data, nil
}

// ModelCost is the cost of model id at the gateway (ok false: unknown).
func ModelCost(models []Model, id string) (cost int, ok bool) {
	for _, m := range models {
		if m.ID == id {
			return m.Cost, true
		}
	}
	return 0, false
}
