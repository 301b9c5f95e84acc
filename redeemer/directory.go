package redeemer

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/blindpass/blindpass/protocol"
)

// maxDirectoryBytes bounds the directory body; three RSA-2048 keys are ~1.3 KB.
const maxDirectoryBytes = 64 << 10

// fetchDirectory downloads and checks the issuer directory and returns its
// type-2 keys. Any invalid key, or more than protocol.MaxDirectoryKeys keys,
// refuses the whole directory.
func (r *Redeemer) fetchDirectory(ctx context.Context) ([]*activeKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.IssuerURL+protocol.DirectoryPath, nil)
	if err != nil {
		return nil, fmt.Errorf("directory request: %w", err)
	}
	req.Header.Set("Accept", protocol.MediaTypeDirectory)
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch directory: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch directory: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDirectoryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	if len(body) > maxDirectoryBytes {
		return nil, fmt.Errorf("directory larger than %d bytes", maxDirectoryBytes)
	}
	d, err := protocol.ParseDirectory(body)
	if err != nil {
		return nil, fmt.Errorf("parse directory: %w", err)
	}
	if len(d.TokenKeys) > protocol.MaxDirectoryKeys {
		return nil, fmt.Errorf("directory lists %d keys, more than %d", len(d.TokenKeys), protocol.MaxDirectoryKeys)
	}
	keys := make([]*activeKey, 0, len(d.TokenKeys))
	seen := make(map[[protocol.KeyIDSize]byte]bool, len(d.TokenKeys))
	for i, dk := range d.TokenKeys {
		if dk.TokenType != protocol.TokenTypeBlindRSA {
			continue
		}
		spki, err := decodeBase64URL(dk.TokenKey)
		if err != nil {
			return nil, fmt.Errorf("directory key %d: %w", i, err)
		}
		pub, err := protocol.ParsePublicKey(spki)
		if err != nil {
			return nil, fmt.Errorf("directory key %d: %w", i, err)
		}
		verifier, err := protocol.NewVerifier(pub)
		if err != nil {
			return nil, fmt.Errorf("directory key %d: %w", i, err)
		}
		id := protocol.KeyID(spki)
		if seen[id] {
			return nil, fmt.Errorf("directory lists key %x twice", id[:8])
		}
		seen[id] = true
		keys = append(keys, &activeKey{
			id:          id,
			spki:        spki,
			verifier:    verifier,
			notBefore:   unixOrZero(dk.NotBefore),
			redeemUntil: unixOrZero(dk.RedeemUntil),
			challenge:   protocol.FormatChallenge(r.challenge, spki),
		})
	}
	return keys, nil
}

// decodeBase64URL accepts base64url with or without padding.
func decodeBase64URL(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("token-key is not base64url: %w", err)
	}
	return b, nil
}

// unixOrZero maps a directory timestamp (unix seconds, 0 = absent) to a time.
func unixOrZero(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
