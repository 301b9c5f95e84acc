package issuer_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/blindpass/blindpass/internal/problem"
	"github.com/blindpass/blindpass/issuer"
)

// TestCreateOrderImpossiblePlanIDs: plan ids no plan can have are unknown
// plans (422) on every store; Postgres text cannot hold a NUL, and asking
// it for one was a 500. (Found by e2e's hostile-input catalog.)
func TestCreateOrderImpossiblePlanIDs(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open, issuer.Config{DevPayments: true})
			for name, plan := range map[string]string{
				"NUL":           `starter\u0000`,
				"only a NUL":    `\u0000`,
				"65 characters": strings.Repeat("p", 65),
				"invalid UTF-8": "st\xffarter",
				"control chars": `starter\r\n`,
			} {
				body := `{"plan":"` + plan + `","secret_hash":"` + newSecret().hash + `"}`
				r := e.do("POST", "/v1/orders", map[string]string{"Content-Type": "application/json"}, []byte(body))
				if r.status != http.StatusUnprocessableEntity {
					t.Fatalf("%s: status %d: %s", name, r.status, r.body)
				}
				if p := r.problem(t); p["type"] != problem.TypeBase+"unknown-plan" {
					t.Fatalf("%s: problem %v", name, p)
				}
			}
		})
	}
}
