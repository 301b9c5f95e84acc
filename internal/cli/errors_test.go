package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: mistakes on the command line exit 2 and say what is
// missing.
func TestUsageErrors(t *testing.T) {
	u := newUser(t)
	existing := filepath.Join(t.TempDir(), "exists.json")
	if err := os.WriteFile(existing, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"shop"}, "unknown command"},
		{"unknown flag", []string{"buy", "--bogus"}, "unknown flag"},
		{"buy without issuer", []string{"buy", "--plan", "starter"}, "pass --issuer URL or set BLINDPASS_ISSUER"},
		{"buy without plan lists the plans", []string{"buy", "--issuer", theWorld.IssuerURL}, "starter      Starter pack: 100 tokens for 5.00 EUR"},
		{"buy with a bad URL", []string{"buy", "--issuer", "ftp://x", "--plan", "starter"}, "want http(s)://host"},
		{"negative count", []string{"buy", "--issuer", theWorld.IssuerURL, "--plan", "starter", "--count", "-1"}, "--count must not be negative"},
		{"voucher without code", []string{"voucher", "--issuer", theWorld.IssuerURL}, "accepts 1 arg"},
		{"chat without redeemer", []string{"chat", "--model", "blindpass-pro", "hi"}, "pass --redeemer URL or set BLINDPASS_REDEEMER"},
		{"chat without model lists the models", []string{"chat", "--redeemer", theWorld.RedeemerURL, "hi"}, "blindpass-max        2 tokens per request"},
		{"chat with an unknown model", []string{"chat", "--redeemer", theWorld.RedeemerURL, "--model", "gpt-9", "hi"}, `unknown model "gpt-9"`},
		{"chat without prompt", []string{"chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-pro"}, "the prompt is empty"},
		{"refill without redeemer", []string{"refill"}, "refill needs the redeemer's URL"},
		{"proxy on all interfaces", []string{"proxy", "--listen", ":8787", "--redeemer", theWorld.RedeemerURL}, "not a loopback address"},
		{"proxy on a LAN address", []string{"proxy", "--listen", "192.168.1.2:8787", "--redeemer", theWorld.RedeemerURL}, "--allow-remote"},
		{"export over a file", []string{"wallet", "export", existing}, "pass --force"},
		{"export both ways", []string{"wallet", "export", "--plain", "--encrypt", "x"}, "exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := u.run(tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want %d", r.code, ExitUsage)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
		})
	}
}

// TestErrorsSayWhatNext: failures exit 1 and tell the user what to do.
func TestErrorsSayWhatNext(t *testing.T) {
	dead := "http://" + freeAddr(t) // nothing listens there
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no tokens at all", nil, []string{"chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-pro", "hi"},
			[]string{"blindpass: not enough tokens for " + theWorld.RedeemerURL + " in the wallet: buy some with `blindpass buy --issuer URL --redeemer " + theWorld.RedeemerURL + " --plan ID`", "blindpass voucher CODE --issuer URL`\n"}},
		{"issuer unreachable", nil, []string{"buy", "--issuer", dead, "--plan", "starter"},
			[]string{"the issuer at " + dead + " did not answer (connection refused)", "that URL comes from --issuer"}},
		{"issuer from the environment unreachable", map[string]string{envIssuer: dead}, []string{"buy", "--plan", "starter"},
			[]string{"the issuer at " + dead + " did not answer", "comes from BLINDPASS_ISSUER in your environment"}},
		{"redeemer unreachable", nil, []string{"chat", "--redeemer", dead, "--model", "m", "hi"},
			[]string{"the redeemer at " + dead + " did not answer (connection refused)", "that URL comes from --redeemer"}},
		{"relay unreachable", nil, []string{"--relay", dead, "chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-pro", "hi"},
			[]string{"the redeemer at " + theWorld.RedeemerURL + " did not answer through the Oblivious HTTP relay at " + dead + " (connection refused)",
				"(from --relay): check that it runs, or pass --relay none"}},
		{"unknown voucher", nil, []string{"voucher", "AAAA-BBBB-CCCC", "--issuer", theWorld.IssuerURL},
			[]string{"does not know this order secret or voucher code", "check the voucher code for typos"}},
		{"refill with nothing to refill", nil, []string{"refill", "--redeemer", theWorld.RedeemerURL},
			[]string{"blindpass buy --issuer URL --plan ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(t)
			for k, v := range tc.env {
				u.env[k] = v
			}
			r := u.run(tc.args...)
			if r.code != ExitError {
				t.Errorf("exit %d, want %d", r.code, ExitError)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}
