package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/httpx"
)

// Server is the admin console: an http.Handler.
type Server struct {
	cfg     Config
	st      Store
	km      KeyManager
	stats   StatsSource
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
	batches *batches // voucher codes waiting to be shown and downloaded once
	echo    *echo.Echo
}

// New makes the console. now is the clock (time.Now when nil).
func New(cfg Config, d Deps, logger *slog.Logger, now func() time.Time) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if d.Store == nil || d.Keys == nil {
		return nil, errors.New("admin: a store and a key manager are required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	s := &Server{cfg: cfg, st: d.Store, km: d.Keys, stats: d.Stats, log: logger, now: now,
		limiter: newLimiter(cfg.Limits), batches: newBatches()}
	s.echo = s.routes()
	return s, nil
}

// Handler serves the console.
func (s *Server) Handler() http.Handler { return s.echo }

// URL is the console's public base URL.
func (s *Server) URL() string { return s.cfg.PublicURL }

func (s *Server) routes() *echo.Echo {
	e := httpx.NewEcho(s.log)
	e.HTTPErrorHandler = s.errorHandler
	e.Use(s.securityHeaders)

	e.GET("/static/*", s.static)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/login", s.loginPage)
	e.POST("/login", s.login)
	e.GET("/login/link", s.loginLink)

	// Everything else needs a session, and a CSRF token to change anything.
	g := authed{e, []echo.MiddlewareFunc{s.requireSession, s.checkCSRF}}
	g.GET("/", s.overview)
	g.POST("/logout", s.logout)
	g.GET("/keys", s.keysPage)
	g.GET("/keys/rotate", s.rotateConfirm)
	g.POST("/keys/rotate", s.rotate)
	g.GET("/plans", s.plansPage)
	g.POST("/plans", s.createPlan)
	g.GET("/plans/:id", s.planPage)
	g.POST("/plans/:id", s.updatePlan)
	g.POST("/plans/:id/retire", s.retirePlan)
	g.POST("/plans/:id/unretire", s.unretirePlan)
	g.GET("/orders", s.ordersPage)
	g.GET("/orders/:id", s.orderPage)
	g.POST("/orders/:id/freeze", s.freezeOrder)
	g.POST("/orders/:id/unfreeze", s.unfreezeOrder)
	g.POST("/orders/:id/grant", s.grantCredit)
	g.GET("/vouchers", s.vouchersPage)
	g.POST("/vouchers", s.createVouchers)
	g.GET("/vouchers/batch/:id", s.voucherBatch)
	g.GET("/vouchers/batch/:id/csv", s.voucherCSV)
	g.GET("/webhooks", s.webhooksPage)
	g.GET("/audit", s.auditPage)

	e.RouteNotFound("/*", func(echo.Context) error { return ErrNotFound })
	return e
}

// authed registers routes behind middleware.
type authed struct {
	e  *echo.Echo
	mw []echo.MiddlewareFunc
}

func (a authed) GET(path string, h echo.HandlerFunc)  { a.e.GET(path, h, a.mw...) }
func (a authed) POST(path string, h echo.HandlerFunc) { a.e.POST(path, h, a.mw...) }
