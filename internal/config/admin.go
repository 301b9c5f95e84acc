package config

import (
	"time"

	"github.com/blindpass/blindpass/issuer/keys"
)

// Admin configures `blindpassd admin`, the operator console. It works on
// the issuer's database and reads the redeemer's aggregate counters from
// its GET /internal/stats. Publish it only behind the TLS proxy, with
// access restricted.
type Admin struct {
	Server `yaml:",inline"`
	// PublicURL is the URL operators open, e.g. https://admin.example.
	// Required; http is accepted only for a loopback address.
	PublicURL string `yaml:"public_url"`
	// KEKFile is the issuer's key-encryption key (for key rotation from the
	// console). Required.
	KEKFile string `yaml:"kek_file"`
	// Keys is the issuer's key schedule, used by "Rotate now": set the same
	// values as the issuer's keys (zero fields take the same defaults). A
	// forced rotation makes a key with this schedule.
	Keys KeySchedule `yaml:"keys"`
	// RedeemerURL is the redeemer's internal base URL, e.g.
	// http://redeemer:8701, for its statistics; with StatsTokenFile.
	RedeemerURL string `yaml:"redeemer_url"`
	// StatsTokenFile holds the token of the redeemer's /internal/stats (the
	// same file as the redeemer's stats_token_file).
	StatsTokenFile string `yaml:"stats_token_file"`
	// Database is the issuer's database, through the admin role.
	Database Database `yaml:"database"`
	// Log is the log format and level.
	Log Log `yaml:"log"`

	// KEK and StatsToken are read from their files by Load.
	KEK        []byte `yaml:"-"`
	StatsToken string `yaml:"-"`
}

// LoadAdmin reads the admin configuration at path, applies the
// BLINDPASS_ADMIN_* variables of env, fills defaults and checks everything.
func LoadAdmin(path string, env Env) (*Admin, error) {
	cfg := &Admin{}
	if err := load("admin", path, env, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Admin) validate() error {
	v := &validator{}
	c.Server.check(v, DefaultAdminListen, 30*time.Second)
	v.httpURL("public_url", c.PublicURL)
	if v.required("kek_file", c.KEKFile) {
		kek, err := keys.LoadKEK(c.KEKFile)
		if err != nil {
			v.add("kek_file", err.Error())
		}
		c.KEK = kek
	}
	c.Keys.check(v)
	switch {
	case (c.RedeemerURL == "") != (c.StatsTokenFile == ""):
		v.add("redeemer_url", "redeemer_url and stats_token_file go together")
	case c.RedeemerURL != "":
		v.httpURL("redeemer_url", c.RedeemerURL)
		c.StatsToken = v.secret("stats_token_file", c.StatsTokenFile, minStatsToken)
	}
	c.Database.check(v, "database")
	c.Log.check(v)
	return v.err()
}
