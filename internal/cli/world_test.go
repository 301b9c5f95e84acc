package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/blindpass/blindpass/gateway"
	"github.com/blindpass/blindpass/internal/httpx"
	"github.com/blindpass/blindpass/internal/mockmodel"
	"github.com/blindpass/blindpass/internal/store/sqlite"
	"github.com/blindpass/blindpass/issuer"
	"github.com/blindpass/blindpass/issuer/keys"
	"github.com/blindpass/blindpass/redeemer"
)

// world is a real Blindpass in this process, as `blindpassd dev` wires it:
// the issuer with dev payments, the redeemer with the premium gateway in
// front of the mock model, each on its own SQLite store. The redeemer's
// handler records the headers of every paid request it receives.
type world struct {
	IssuerURL   string
	RedeemerURL string
	seen        *headerLog
	closers     []func()
	// issuerStore is the issuer's database (vouchers are made in it).
	issuerStore *sqlite.Store
}

var theWorld *world

func TestMain(m *testing.M) {
	w, err := newWorld()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cli tests: start the world:", err)
		os.Exit(1)
	}
	theWorld = w
	code := m.Run()
	w.close()
	os.Exit(code)
}

func newWorld() (w *world, err error) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	dir, err := os.MkdirTemp("", "blindpass-cli-world")
	if err != nil {
		return nil, err
	}
	w = &world{seen: &headerLog{}}
	w.closers = append(w.closers, func() { os.RemoveAll(dir) })
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	issStore, err := sqlite.Open(ctx, filepath.Join(dir, "issuer.db"))
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { issStore.Close() })
	w.issuerStore = issStore
	redStore, err := sqlite.Open(ctx, filepath.Join(dir, "redeemer.db"))
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { redStore.Close() })
	kek, err := keys.CreateKEK(filepath.Join(dir, "kek"))
	if err != nil {
		return nil, err
	}
	km, err := keys.NewManager(issStore, kek, keys.Policy{}, logger, time.Now)
	if err != nil {
		return nil, err
	}
	if err := km.Ensure(ctx); err != nil {
		return nil, err
	}

	issSrv := httptest.NewUnstartedServer(nil)
	w.IssuerURL = "http://" + issSrv.Listener.Addr().String()
	iss, err := issuer.New(issuer.Config{PublicURL: w.IssuerURL, DevPayments: true}, issStore, km, logger, time.Now)
	if err != nil {
		return nil, err
	}
	if err := iss.SeedPlans(ctx, issuer.DevPlans()); err != nil {
		return nil, err
	}
	issSrv.Config.Handler = iss.Handler()
	issSrv.Start()
	w.closers = append(w.closers, issSrv.Close)

	mock := httptest.NewServer(mockmodel.Handler())
	w.closers = append(w.closers, mock.Close)

	redSrv := httptest.NewUnstartedServer(nil)
	w.RedeemerURL = "http://" + redSrv.Listener.Addr().String()
	red, err := redeemer.New(redeemer.Config{IssuerURL: w.IssuerURL, Origins: []string{redSrv.Listener.Addr().String()}}, redStore, logger, time.Now)
	if err != nil {
		return nil, err
	}
	if err := red.Refresh(ctx); err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.DevConfig(mock.URL), red, logger)
	if err != nil {
		return nil, err
	}
	e := httpx.NewEcho(logger)
	red.Register(e)
	gw.Register(e)
	redSrv.Config.Handler = w.seen.wrap(e)
	redSrv.Start()
	w.closers = append(w.closers, redSrv.Close)
	return w, nil
}

func (w *world) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// headerLog keeps the headers and bodies of the chat requests the
// redeemer received.
type headerLog struct {
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	Header http.Header
	Body   []byte
}

func (l *headerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			l.mu.Lock()
			l.seen = append(l.seen, seenRequest{r.Header.Clone(), body})
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (l *headerLog) since(n int) []seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seenRequest(nil), l.seen[n:]...)
}

func (l *headerLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}
