package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBuyChatBalance: buy through the dev checkout, chat streaming and not,
// and the balance falling by each model's cost.
func TestBuyChatBalance(t *testing.T) {
	u := newUser(t)
	out, errb, done, _ := u.start("buy", "--issuer", theWorld.IssuerURL, "--redeemer", theWorld.RedeemerURL, "--plan", "starter", "--count", "30")
	payFromOutput(t, out)
	if code := wait(t, done, "buy"); code != 0 {
		t.Fatalf("buy: exit %d\n%s\n%s", code, out, errb)
	}
	for _, want := range []string{"Pay here: ", "30 tokens are in your wallet", "70 credits remain"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("buy output lacks %q:\n%s", want, out)
		}
	}
	if got := u.tokens(); got != 30 {
		t.Fatalf("after buying 30: balance %d", got)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		want   string
		spends int
	}{
		{"stream pro", []string{"--model", "blindpass-pro", "hello", "there"}, "Hello from mock-pro. You wrote 2 words: hello there\n", 1},
		{"no-stream max", []string{"--model", "blindpass-max", "--no-stream", "one two three"}, "Hello from mock-max. You wrote 3 words: one two three\n", 2},
		{"free model", []string{"--model", "blindpass-free", "gratis"}, "Hello from mock-pro. You wrote 1 words: gratis\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := u.tokens()
			// The redeemer is remembered from buy.
			r := u.must(append([]string{"chat"}, tc.args...)...)
			if r.stdout != tc.want {
				t.Errorf("chat printed %q, want %q", r.stdout, tc.want)
			}
			if got := before - u.tokens(); got != tc.spends {
				t.Errorf("balance fell by %d, want %d", got, tc.spends)
			}
		})
	}

	r := u.must("chat", "--json", "--model", "blindpass-pro", "json please")
	var answer struct {
		Object string `json:"object"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &answer); err != nil || answer.Object != "chat.completion" {
		t.Errorf("chat --json printed %q (%v)", r.stdout, err)
	}

	// A prompt from stdin.
	u.stdin = "from  stdin\n"
	if r := u.must("chat", "--model", "blindpass-pro"); !strings.Contains(r.stdout, "You wrote 2 words: from stdin") {
		t.Errorf("chat from stdin printed %q", r.stdout)
	}
}

// TestBuyWithoutRedeemer: the purchase completes and the credit waits for
// refill; refill then uses the remembered issuer orders.
func TestBuyWithoutRedeemer(t *testing.T) {
	u := newUser(t)
	out, errb, done, _ := u.start("buy", "--issuer", theWorld.IssuerURL, "--plan", "starter")
	payFromOutput(t, out)
	if code := wait(t, done, "buy"); code != 0 {
		t.Fatalf("buy: exit %d\n%s\n%s", code, out, errb)
	}
	if !strings.Contains(out.String(), "blindpass refill --redeemer URL") || u.tokens() != 0 {
		t.Fatalf("buy without redeemer:\n%s", out)
	}
	r := u.run("chat", "--redeemer", theWorld.RedeemerURL, "--model", "blindpass-pro", "hi")
	if r.code != ExitError || !strings.Contains(r.stderr, "blindpass refill --redeemer "+theWorld.RedeemerURL) {
		t.Fatalf("chat with credit but no tokens: exit %d\n%s", r.code, r.stderr)
	}
	r = u.must("refill", "--redeemer", theWorld.RedeemerURL)
	if !strings.Contains(r.stdout, "100 new tokens") || u.tokens() != 100 {
		t.Fatalf("refill: %s", r.stdout)
	}
	// Nothing left: refill says so and succeeds.
	if r := u.must("refill"); !strings.Contains(r.stdout, "0 new tokens") {
		t.Fatalf("second refill: %s", r.stdout)
	}
}

// TestBuyInterrupted: Ctrl-C while waiting keeps the order; refill fetches
// its tokens once it is paid.
func TestBuyInterrupted(t *testing.T) {
	u := newUser(t)
	out, errb, done, cancel := u.start("buy", "--issuer", theWorld.IssuerURL, "--redeemer", theWorld.RedeemerURL, "--plan", "starter", "--json")
	var first struct {
		OrderID     string `json:"order_id"`
		CheckoutURL string `json:"checkout_url"`
	}
	for i := 0; first.CheckoutURL == "" && i < 1000; i++ {
		line, _, _ := strings.Cut(out.String(), "\n")
		_ = json.Unmarshal([]byte(line), &first)
		if first.CheckoutURL == "" {
			waitALittle()
		}
	}
	cancel()
	if code := wait(t, done, "buy"); code != ExitError {
		t.Fatalf("interrupted buy: exit %d", code)
	}
	if !strings.Contains(errb.String(), "blindpass refill") || !strings.Contains(errb.String(), first.OrderID) {
		t.Fatalf("interrupted buy says:\n%s", errb)
	}
	if r := u.must("refill"); !strings.Contains(r.stdout, "0 new tokens") {
		t.Fatalf("refill of an unpaid order: %s", r.stdout)
	}
	payFromOutput(t, out)
	if r := u.must("refill"); !strings.Contains(r.stdout, "100 new tokens") {
		t.Fatalf("refill after paying: %s", r.stdout)
	}
}

// TestBuyRefusesForeignRedeemer: a redeemer whose key the issuer does not
// list is refused before any order is made.
func TestBuyRefusesForeignRedeemer(t *testing.T) {
	u := newUser(t)
	other := fakeRedeemerWithForeignKey(t)
	r := u.run("buy", "--issuer", theWorld.IssuerURL, "--redeemer", other, "--plan", "starter")
	if r.code != ExitError || !strings.Contains(r.stderr, "not in the issuer's directory") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "Pay here") {
		t.Fatal("an order was made")
	}
}

func waitALittle() { time.Sleep(10 * time.Millisecond) }
