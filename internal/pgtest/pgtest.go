// Package pgtest runs a private, throwaway Postgres server for tests that
// must stop and start the database (outage tests). Such tests must never
// touch the shared server other tests use (internal/testdb).
//
// The cluster is made with the installed PostgreSQL binaries
// (/usr/lib/postgresql/*/bin, or PATH). initdb refuses to run as root, so
// under root the binaries run as the "postgres" system user through
// runuser, as scripts/test does. When that is impossible the test is
// skipped with the reason, or fails under CI / BLINDPASS_REQUIRE_POSTGRES=1.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is one private Postgres server on a loopback port.
type Cluster struct {
	bindir string
	dir    string   // holds data/, the socket and the log
	runAs  []string // command prefix running a binary as the cluster owner
	port   int
	up     bool
}

// Start makes a fresh cluster, starts it and removes it when the test ends.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	bindir, err := findBindir()
	if err != nil {
		unavailable(tb, err)
	}
	c := &Cluster{bindir: bindir}
	owner := -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(tb, fmt.Errorf("running as root and there is no postgres user to run initdb as: %w", err))
		}
		owner, _ = strconv.Atoi(u.Uid)
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	// Not t.TempDir: its parents are private to root, and the cluster
	// owner must be able to reach the directory.
	dir, err := os.MkdirTemp("", "blindpass-pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	c.dir = dir
	tb.Cleanup(func() {
		if c.up {
			_ = c.pgctl("stop", "-m", "immediate")
		}
		_ = os.RemoveAll(dir)
	})
	if owner >= 0 {
		if err := os.Chown(dir, owner, -1); err != nil {
			unavailable(tb, fmt.Errorf("chown %s: %w", dir, err))
		}
	}
	if out, err := c.command(filepath.Join(bindir, "initdb"), "-D", c.dataDir(), "-U", "postgres", "-A", "trust",
		"--no-sync").CombinedOutput(); err != nil {
		unavailable(tb, fmt.Errorf("initdb: %w\n%s", err, out))
	}
	c.port = freePort(tb)
	c.Up(tb)
	return c
}

// URL is the URL of the cluster's "postgres" database as the superuser.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// CreateDatabase makes an empty database in the cluster and returns its URL.
func (c *Cluster) CreateDatabase(tb testing.TB, name string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Up starts the (stopped) server on its port and waits until it accepts
// connections.
func (c *Cluster) Up(tb testing.TB) {
	tb.Helper()
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.dir, c.port)
	if err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		tb.Fatalf("pgtest: start: %v\nserver log:\n%s", err, log)
	}
	c.up = true
}

// Stop shuts the server down the way an outage looks to clients: "fast"
// ends every session at once (open transactions roll back); "immediate"
// is a crash, recovered at the next start.
func (c *Cluster) Stop(tb testing.TB, mode string) {
	tb.Helper()
	if err := c.pgctl("stop", "-w", "-m", mode); err != nil {
		tb.Fatalf("pgtest: stop -m %s: %v", mode, err)
	}
	c.up = false
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) pgctl(args ...string) error {
	args = append([]string{"-D", c.dataDir()}, args...)
	out, err := c.command(filepath.Join(c.bindir, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w\n%s", args, err, bytes.TrimSpace(out))
	}
	return nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string(nil), c.runAs...), name), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = c.dir
	return cmd
}

// findBindir returns the newest installed PostgreSQL bin directory.
func findBindir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl) installed")
}

// version is the major version in /usr/lib/postgresql/<major>/bin.
func version(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// unavailable skips the test, or fails it where Postgres tests must run.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" || os.Getenv("BLINDPASS_REQUIRE_POSTGRES") == "1" {
		tb.Fatalf("pgtest: cannot run a private Postgres cluster: %v", err)
	}
	tb.Skipf("pgtest: cannot run a private Postgres cluster (%v); install PostgreSQL to run this test", err)
}
