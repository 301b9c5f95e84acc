package admin

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h := HashPassword(testPassword, testParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=256,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if h2 := HashPassword(testPassword, testParams); h2 == h {
		t.Error("two hashes of one password are equal: no random salt")
	}
	parts := strings.Split(h, "$")
	tests := []struct {
		name string
		pw   string
		phc  string
		want bool
	}{
		{"right password", testPassword, h, true},
		{"wrong password", testPassword + "!", h, false},
		{"empty password", "", h, false},
		{"empty hash (dev operator)", testPassword, "", false},
		{"argon2i", testPassword, strings.Replace(h, "argon2id", "argon2i", 1), false},
		{"other version", testPassword, strings.Replace(h, "v=19", "v=16", 1), false},
		{"params reordered", testPassword, strings.Replace(h, "m=256,t=1,p=1", "t=1,m=256,p=1", 1), false},
		{"huge memory", testPassword, strings.Replace(h, "m=256", "m=99999999", 1), false},
		{"zero time", testPassword, strings.Replace(h, "t=1", "t=0", 1), false},
		{"padded salt", testPassword, strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4] + "==", parts[5]}, "$"), false},
		{"short tag", testPassword, strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], parts[5][:8]}, "$"), false},
		{"extra field", testPassword, h + "$x", false},
		{"other tag", testPassword, strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], strings.Repeat("A", len(parts[5]))}, "$"), false},
	}
	for _, tt := range tests {
		if got := VerifyPassword(tt.pw, tt.phc); got != tt.want {
			t.Errorf("%s: VerifyPassword = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The default costs are RFC 9106's second recommendation and verify.
func TestPasswordDefaultCost(t *testing.T) {
	h := HashPassword(testPassword, DefaultArgon2id)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("default hash %q", h)
	}
	if !VerifyPassword(testPassword, h) || VerifyPassword("nope", h) {
		t.Fatal("default-cost hash does not verify")
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"":                           false,
		"short":                      false,
		"elevenchars":                false,
		"twelve chars":               true,
		"ünïcödé pässwörd":           true,
		strings.Repeat("x", 1024):    true,
		strings.Repeat("x", 1025):    false,
		"ééééééééééé":                false, // 11 characters, 22 bytes
		"correct horse battery stap": true,
	} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%.20q) = %v, want ok=%v", pw, err, ok)
		}
	}
}
