package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func ping(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// TestStopAndStart: the cluster answers, refuses connections while stopped
// (in both modes), answers again on the same port and keeps its data.
func TestStopAndStart(t *testing.T) {
	c := Start(t)
	url := c.CreateDatabase(t, "keep")
	if err := ping(url); err != nil {
		t.Fatalf("fresh cluster: %v", err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	for _, mode := range []string{"fast", "immediate"} {
		c.Stop(t, mode)
		if err := ping(url); err == nil {
			t.Fatalf("stopped (%s) cluster still answers", mode)
		}
		c.Up(t)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatalf("after stop -m %s and start: %v", mode, err)
		}
		var x int
		if err := conn.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
			t.Fatalf("after stop -m %s: x=%d err=%v", mode, x, err)
		}
		conn.Close(ctx)
	}
}
