package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

// Routes the gateway serves; each forwards to the upstream's base URL plus
// the route with its "/v1" prefix removed.
var inferenceRoutes = []string{routeChat, routeCompletions, routeEmbeddings}

const (
	routeChat        = "/v1/chat/completions"
	routeCompletions = "/v1/completions"
	routeEmbeddings  = "/v1/embeddings"
)

// Gateway is the premium OpenAI-compatible proxy.
type Gateway struct {
	cfg       Config
	models    map[string]model
	upstreams map[string]upstream
	sp        Spender
	logger    *slog.Logger
	client    *http.Client
	now       func() time.Time
	modelList []byte // the GET /v1/models body
}

// model is a configured model with what the gateway derives from it.
type model struct {
	Model
	publicID   []byte // ID as a JSON string: the "model" of every answer
	upstreamID []byte // UpstreamModel as a JSON string
	limits     Limits // resolved: defaults applied, 0 = no limit
}

// upstream is a configured upstream with its parsed base URL.
type upstream struct {
	name   string
	base   *url.URL
	apiKey string
}

// New validates cfg, reads the upstream API key files and builds the
// gateway. sp may be nil only when every model is free.
func New(cfg Config, sp Spender, logger *slog.Logger) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	cfg.setDefaults()
	if err := cfg.loadKeys(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg:       cfg,
		models:    make(map[string]model, len(cfg.Models)),
		upstreams: make(map[string]upstream, len(cfg.Upstreams)),
		sp:        sp,
		logger:    logger,
		client:    newClient(),
		now:       time.Now,
	}
	for _, u := range cfg.Upstreams {
		base, err := url.Parse(strings.TrimSuffix(u.BaseURL, "/"))
		if err != nil {
			return nil, fmt.Errorf("gateway config: upstream %q: %w", u.Name, err)
		}
		g.upstreams[u.Name] = upstream{name: u.Name, base: base, apiKey: u.APIKey}
	}
	for _, m := range cfg.Models {
		if m.Cost > 0 && sp == nil {
			return nil, errors.New("gateway: model " + m.ID + " has a cost but no token spender is configured")
		}
		id, err := json.Marshal(m.ID)
		if err != nil {
			return nil, fmt.Errorf("gateway: encode model id: %w", err)
		}
		upID, err := json.Marshal(m.UpstreamModel)
		if err != nil {
			return nil, fmt.Errorf("gateway: encode upstream model: %w", err)
		}
		g.models[m.ID] = model{Model: m, publicID: id, upstreamID: upID, limits: m.Limits.resolved()}
	}
	list, err := modelListJSON(cfg.Models, g.now())
	if err != nil {
		return nil, err
	}
	g.modelList = list
	return g, nil
}

// openAIRoutes are the routes whose errors are written in OpenAI's shape
// (problem.FormatOpenAI): the OpenAI SDKs read no other.
var openAIRoutes = map[string]bool{
	"/v1/models": true, "/v1/chat/completions": true, "/v1/completions": true, "/v1/embeddings": true,
}

// Register adds the gateway's routes to e. The server must use
// problem.EchoErrorHandler: errors on the gateway's routes (405 for another
// method included) are written in OpenAI's error shape, other routes keep
// problem+json.
func (g *Gateway) Register(e *echo.Echo) {
	e.Use(openAIErrors)
	e.GET("/v1/models", g.listModels)
	for _, path := range inferenceRoutes {
		e.POST(path, g.serveInference)
	}
}

// openAIErrors chooses OpenAI's error shape for the gateway's routes.
// c.Path() is the matched route pattern, also for a 405.
func openAIErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if openAIRoutes[c.Path()] {
			problem.SetFormat(c, problem.FormatOpenAI)
		}
		return next(c)
	}
}

// listModels answers GET /v1/models in OpenAI's list shape, with each
// model's cost in tokens.
func (g *Gateway) listModels(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, g.modelList)
}

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Cost    int    `json:"cost"`
}

func modelListJSON(models []Model, created time.Time) ([]byte, error) {
	data := make([]modelEntry, 0, len(models))
	for _, m := range models {
		data = append(data, modelEntry{ID: m.ID, Object: "model", Created: created.Unix(), OwnedBy: "blindpass", Cost: m.Cost})
	}
	b, err := json.Marshal(struct {
		Object string       `json:"object"`
		Data   []modelEntry `json:"data"`
	}{"list", data})
	if err != nil {
		return nil, fmt.Errorf("gateway: encode model list: %w", err)
	}
	return b, nil
}
