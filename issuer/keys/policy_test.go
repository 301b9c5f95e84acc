package keys

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		p       Policy
		wantErr string // names the field; "" = valid
	}{
		{"defaults", DefaultPolicy(), ""},
		{"zero fields take defaults", Policy{}.WithDefaults(), ""},
		{"grace equal to period", Policy{IssuePeriod: 30 * day, Lead: day, RedeemGrace: 30 * day}, ""},
		{"grace above period", Policy{IssuePeriod: 30 * day, Lead: day, RedeemGrace: 31 * day}, "RedeemGrace"},
		{"lead equal to period", Policy{IssuePeriod: 30 * day, Lead: 30 * day, RedeemGrace: day}, "Lead"},
		{"lead above period", Policy{IssuePeriod: day, Lead: 2 * day, RedeemGrace: day}, "Lead"},
		{"negative period", Policy{IssuePeriod: -day, Lead: day, RedeemGrace: day}, "IssuePeriod"},
		{"negative lead", Policy{IssuePeriod: day, Lead: -time.Hour, RedeemGrace: day}, "Lead"},
		{"negative grace", Policy{IssuePeriod: day, Lead: time.Hour, RedeemGrace: -day}, "RedeemGrace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
	if d := DefaultPolicy(); d.IssuePeriod != 60*day || d.Lead != 2*day || d.RedeemGrace != 60*day {
		t.Fatalf("DefaultPolicy = %+v", d)
	}
}
