package issuer

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/store"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/protocol"
)

// Server is the issuer's HTTP API.
type Server struct {
	cfg       Config
	st        store.IssuerStore
	km        *keys.Manager
	log       *slog.Logger
	now       func() time.Time
	checkouts []Checkout
	echo      *echo.Echo
	sem       chan struct{} // signing slots, shared by all requests

	orders *rate.Limiter // new orders (checkouts) per process; nil: no limit

	reloadMu   sync.Mutex
	lastReload time.Time
	lastSync   time.Time // the directory's last keys.Manager.Sync, under reloadMu
}

// New makes the issuer server. now is the clock (time.Now when nil).
func New(cfg Config, st store.IssuerStore, km *keys.Manager, logger *slog.Logger, now func() time.Time) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if st == nil || km == nil {
		return nil, errors.New("issuer: nil store or key manager")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	s := &Server{cfg: cfg, st: st, km: km, log: logger, now: now, sem: make(chan struct{}, cfg.SignWorkers)}
	if cfg.OrdersPerMinute > 0 {
		s.orders = rate.NewLimiter(rate.Limit(float64(cfg.OrdersPerMinute)/60), cfg.OrderBurst)
	}
	s.checkouts = append(s.checkouts, cfg.Checkouts...)
	if cfg.DevPayments {
		s.checkouts = append(s.checkouts, devCheckout{publicURL: cfg.PublicURL})
	}
	s.echo = s.routes()
	return s, nil
}

// Handler is the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.echo }

// IssuerName is the issuer_name for token challenges (Config.Name).
func (s *Server) IssuerName() string { return s.cfg.Name }

// RequestURI is the absolute issuance URL the directory advertises.
func (s *Server) RequestURI() string { return s.cfg.PublicURL + tokenRequestPath }

const tokenRequestPath = "/v1/token-request"

func (s *Server) routes() *echo.Echo {
	e := httpx.NewEcho(s.log)
	e.Use(noStore)
	e.Use(s.cfg.Middleware...)

	e.Match([]string{http.MethodGet, http.MethodHead}, protocol.DirectoryPath, s.directory)
	e.GET("/v1/plans", s.listPlans)
	e.POST("/v1/orders", s.createOrder)
	e.GET("/v1/orders/current", s.currentOrder)
	e.POST(tokenRequestPath, s.tokenRequest)
	if s.cfg.DevPayments {
		e.GET(devCheckoutPath, s.devCheckoutPage)
		e.POST(devCheckoutPath, s.devCheckoutPay)
	}
	s.paymentRoutes(e)
	return e
}
