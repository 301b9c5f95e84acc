package daemon

import (
	"encoding/json"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpass/blindpass/bench"
)

// newBenchCmd is `blindpassd bench`: the load report of issue 7 (package
// bench does the work).
func newBenchCmd() *cobra.Command {
	var (
		cfg     bench.Config
		jsonOut bool
		quiet   bool
		profile string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test issuance and redemption over HTTP against Postgres and print a report",
		Long: `bench drives the issuer and the redeemer over HTTP on loopback against Postgres: it buys
through the dev checkout, fetches tokens in 100-token batches (next to the raw signer and
circl's BlindSign in this process), then redeems tokens with POST /v1/redeem at full speed and
at a fixed rate (half the measured maximum), and prints throughput, p50/p99 latency, the ratio
to the raw crypto operation measured in the same run, where the redemption time went (handler,
GC, scheduling, load average), and the redeemer's memory.

With no --issuer/--redeemer it starts both in this process on a throwaway database made on
--admin-url (or on --database-url, which it migrates), and the memory reported is this whole
process. Against running servers (the issuer must run with dev payments), give
--redeemer-pid to read the redeemer's memory. Never point it at production: it creates orders.`,
		Example: `  blindpassd bench
  blindpassd bench --tokens 60000 --clients 128 --json
  blindpassd bench --issuer http://127.0.0.1:8700 --redeemer http://127.0.0.1:8701 --redeemer-pid 4242`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				cfg.CPUProfile = f
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			rep.Print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.IssuerURL, "issuer", "", "base URL of a running issuer with dev payments (with --redeemer); empty: start one here")
	f.StringVar(&cfg.RedeemerURL, "redeemer", "", "base URL of a running redeemer (with --issuer)")
	f.StringVar(&cfg.DatabaseURL, "database-url", "", "Postgres database for the servers started here (migrated); empty: a throwaway database on --admin-url")
	f.StringVar(&cfg.AdminURL, "admin-url", bench.DefaultAdminURL, "Postgres URL of a role that may create databases, for the throwaway database")
	f.StringVar(&cfg.Plan, "plan", "", "dev plan to buy (default: the one with the most tokens)")
	f.IntVar(&cfg.IssueBatches, "batches", 20, "generic batches fetched over HTTP in the issuance phase")
	f.IntVar(&cfg.BatchSize, "batch-size", 100, "token requests per batch")
	f.IntVar(&cfg.IssueClients, "issue-clients", 0, "batches in flight at once (default GOMAXPROCS)")
	f.IntVar(&cfg.RedeemTokens, "tokens", 50000, "redemptions in the full-speed phase")
	f.IntVar(&cfg.RelayTokens, "relay-tokens", 2000, "redemptions directly and as many through an OHTTP relay, to compare (in-process servers; negative: skip)")
	f.DurationVar(&cfg.RedeemDuration, "duration", 10*time.Second, "time bound of the full-speed phase")
	f.IntVar(&cfg.Clients, "clients", 64, "concurrent HTTP clients in the full-speed phase")
	f.Float64Var(&cfg.FixedRate, "rate", 0, "redemptions per second of the fixed-rate phase (default: half the measured maximum)")
	f.DurationVar(&cfg.FixedDuration, "fixed-duration", 5*time.Second, "length of the fixed-rate phase")
	f.IntVar(&cfg.RedeemerPID, "redeemer-pid", 0, "process id of a running redeemer, to report its memory")
	f.BoolVar(&jsonOut, "json", false, "print the report as JSON")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of this process during the full-speed phase to this file")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}
