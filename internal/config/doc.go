// Package config loads the configuration of the production roles of
// blindpassd (issuer, redeemer, admin): one YAML file per role, environment
// overrides for every field, secrets only as file paths, everything checked
// at start with messages that name the field.
//
// # Files
//
// A role's file is strict: an unknown key is an error that names the key and
// its line, so a typo never silently leaves a default in place. Durations
// are Go durations ("90s", "5m", "1440h"). Examples: deploy/config/*.yaml.
//
// # Environment
//
// Every field can be overridden by an environment variable, which wins over
// the file. The name is BLINDPASS_, the role, and the field's YAML path, upper
// case, joined by underscores:
//
//	public_url                        BLINDPASS_ISSUER_PUBLIC_URL
//	database.url_file                 BLINDPASS_ISSUER_DATABASE_URL_FILE
//	origins (a list of strings)       BLINDPASS_REDEEMER_ORIGINS=chat.example,api.example
//	gateway.models (a list of maps)   BLINDPASS_REDEEMER_GATEWAY_MODELS='[{id: m, upstream: u, upstream_model: x, cost: 1}]'
//	gateway.upstreams[0].base_url     BLINDPASS_REDEEMER_GATEWAY_UPSTREAMS_0_BASE_URL
//
// A list of strings is comma-separated. A list of maps is given whole as YAML
// (flow style or JSON), or one field of one element at a time with the
// element's index; an index equal to the list's length appends an element.
// A variable that starts with the role's prefix but names no field is an
// error, like an unknown key in the file. An empty variable is ignored.
//
// # Secrets
//
// Secrets are never values in the file, the environment or a command line:
// the file names the files that hold them (database.url_file, kek_file,
// gateway.upstreams[].api_key_file). Load reads them and fails, naming the
// field, when one is missing, unreadable or empty.
package config
