package protocol

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

// TestIssuanceVectors runs every RFC 9578 and independent type 0x0002 vector
// through the whole protocol.
func TestIssuanceVectors(t *testing.T) {
	for _, f := range issuanceFiles {
		for i, v := range loadJSON[issuanceVector](t, f) {
			t.Run(fmt.Sprintf("%s/%d", f, i), func(t *testing.T) { checkIssuanceVector(t, v) })
		}
	}
}

func checkIssuanceVector(t *testing.T, v issuanceVector) {
	sk := parsePEMKey(t, v.SkS)
	pub := &sk.PublicKey

	if got := MarshalPublicKey(pub); !bytes.Equal(got, v.PkS) {
		t.Fatalf("MarshalPublicKey:\n got %x\nwant %x", got, []byte(v.PkS))
	}
	parsed, err := ParsePublicKey(v.PkS)
	if err != nil || parsed.N.Cmp(pub.N) != 0 || parsed.E != pub.E {
		t.Fatalf("ParsePublicKey: %v", err)
	}

	challenge, err := ParseTokenChallenge(v.TokenChallenge)
	if err != nil {
		t.Fatalf("ParseTokenChallenge: %v", err)
	}
	if got := challenge.Marshal(); !bytes.Equal(got, v.TokenChallenge) {
		t.Fatalf("challenge re-marshal: got %x", got)
	}

	req, err := ParseTokenRequest(v.TokenRequest)
	if err != nil {
		t.Fatalf("ParseTokenRequest: %v", err)
	}
	if got := req.Marshal(); !bytes.Equal(got, v.TokenRequest) {
		t.Fatalf("token request re-marshal: got %x", got)
	}
	resp, err := BlindSign(sk, req)
	if err != nil {
		t.Fatalf("BlindSign: %v", err)
	}
	if !bytes.Equal(resp.Marshal(), v.TokenResponse) {
		t.Fatalf("BlindSign:\n got %x\nwant %x", resp.Marshal(), []byte(v.TokenResponse))
	}
	if _, err := ParseTokenResponse(v.TokenResponse); err != nil {
		t.Fatalf("ParseTokenResponse: %v", err)
	}

	tok, err := ParseToken(v.Token)
	if err != nil {
		t.Fatalf("ParseToken: %v", err)
	}
	if !bytes.Equal(tok.Marshal(), v.Token) {
		t.Fatal("token re-marshal differs")
	}
	if err := VerifyToken(pub, tok); err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	if tok.TokenKeyID != KeyID(v.PkS) {
		t.Fatal("token_key_id is not SHA-256(pkS)")
	}
	if tok.ChallengeDigest != sha256.Sum256(v.TokenChallenge) || tok.ChallengeDigest != challenge.Digest() {
		t.Fatal("challenge_digest is not SHA-256(token_challenge)")
	}
	if !bytes.Equal(tok.Nonce[:], v.Nonce) {
		t.Fatal("token nonce is not the vector nonce")
	}

	// The client side, replayed: NewTokenRequest reads the nonce, then
	// circl's Blind reads the salt and then the blind (crypto/rand.Int
	// still reads from the reader it is given in Go 1.26).
	rand := bytes.NewReader(concat(v.Nonce, v.Salt, v.Blind))
	req2, state, err := NewTokenRequest(rand, pub, challenge)
	if err != nil {
		t.Fatalf("NewTokenRequest: %v", err)
	}
	if !bytes.Equal(req2.Marshal(), v.TokenRequest) {
		t.Fatalf("NewTokenRequest from nonce/salt/blind:\n got %x\nwant %x", req2.Marshal(), []byte(v.TokenRequest))
	}
	tok2, err := state.Finalize(resp)
	if err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	if !bytes.Equal(tok2.Marshal(), v.Token) {
		t.Fatal("Finalize does not give the vector token")
	}
}

// TestChallengeVectors checks RFC 9577 challenges and authenticator inputs.
func TestChallengeVectors(t *testing.T) {
	for i, v := range loadJSON[challengeVector](t, "rfc9577-token-challenge.json") {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			c := TokenChallenge{
				TokenType:         v.TokenType.uint16(t),
				IssuerName:        string(v.IssuerName),
				RedemptionContext: v.RedemptionContext,
			}
			if len(v.OriginInfo) > 0 {
				c.OriginInfo = bytes2origins(v.OriginInfo)
			}
			wire := c.Marshal()
			if wire == nil {
				t.Fatalf("Marshal refused %+v: %v", c, c.Validate())
			}
			back, err := ParseTokenChallenge(wire)
			if err != nil {
				t.Fatalf("ParseTokenChallenge: %v", err)
			}
			if !bytes.Equal(back.Marshal(), wire) || fmt.Sprint(back.OriginInfo) != fmt.Sprint(c.OriginInfo) {
				t.Fatalf("round trip: %+v != %+v", back, c)
			}
			tok := Token{TokenType: c.TokenType, ChallengeDigest: back.Digest()}
			copy(tok.Nonce[:], v.Nonce)
			copy(tok.TokenKeyID[:], v.TokenKeyID)
			if got := tok.AuthenticatorInput(); !bytes.Equal(got, v.TokenAuthenticatorInput) {
				t.Fatalf("token_authenticator_input:\n got %x\nwant %x", got, []byte(v.TokenAuthenticatorInput))
			}
		})
	}
}

// bytes2origins splits a vector's origin_info bytes at commas.
func bytes2origins(b []byte) []string {
	var out []string
	for _, p := range bytes.Split(b, []byte(",")) {
		out = append(out, string(p))
	}
	return out
}

// TestBatchVectors parses and re-marshals every generic batch byte-exactly and
// checks BlindSign on its type 0x0002 entries.
func TestBatchVectors(t *testing.T) {
	for i, v := range loadJSON[batchVector](t, "batched-generic-issuance.json") {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			breq, err := ParseGenericBatchRequest(v.TokenRequest, len(v.Issuance))
			if err != nil {
				t.Fatalf("ParseGenericBatchRequest: %v", err)
			}
			if !bytes.Equal(breq.Marshal(), v.TokenRequest) {
				t.Fatal("batch request re-marshal differs")
			}
			bresp, err := ParseGenericBatchResponse(v.TokenResponse)
			if err != nil {
				t.Fatalf("ParseGenericBatchResponse: %v", err)
			}
			if !bytes.Equal(bresp.Marshal(), v.TokenResponse) {
				t.Fatal("batch response re-marshal differs")
			}
			if len(breq.Requests) != len(v.Issuance) || len(bresp.Responses) != len(v.Issuance) {
				t.Fatalf("%d requests, %d responses, %d issuances", len(breq.Requests), len(bresp.Responses), len(v.Issuance))
			}
			for j, iss := range v.Issuance {
				typ := iss.Type.uint16(t)
				if breq.Requests[j].TokenType != typ || bresp.Responses[j].TokenType != typ {
					t.Fatalf("entry %d: types %d/%d, want %d", j, breq.Requests[j].TokenType, bresp.Responses[j].TokenType, typ)
				}
				if typ != TokenTypeBlindRSA {
					continue // type 0x0001 (VOPRF) is only parsed
				}
				sk := parsePEMKey(t, iss.SkS)
				req, err := ParseTokenRequest(breq.Requests[j].Raw)
				if err != nil {
					t.Fatalf("entry %d: %v", j, err)
				}
				resp, err := BlindSign(sk, req)
				if err != nil {
					t.Fatalf("entry %d: BlindSign: %v", j, err)
				}
				if !bytes.Equal(resp.BlindSig, bresp.Responses[j].Raw) {
					t.Fatalf("entry %d: BlindSign differs from the batch response", j)
				}
				challenge, err := ParseTokenChallenge(iss.TokenChallenge)
				if err != nil {
					t.Fatalf("entry %d: %v", j, err)
				}
				rand := bytes.NewReader(concat(iss.Nonce, iss.Salt, iss.Blind))
				req2, state, err := NewTokenRequest(rand, &sk.PublicKey, challenge)
				if err != nil {
					t.Fatalf("entry %d: NewTokenRequest: %v", j, err)
				}
				if !bytes.Equal(req2.Marshal(), breq.Requests[j].Raw) {
					t.Fatalf("entry %d: NewTokenRequest does not reproduce the request", j)
				}
				tok, err := state.Finalize(resp)
				if err != nil || !bytes.Equal(tok.Marshal(), iss.Token) {
					t.Fatalf("entry %d: Finalize: %v (or token differs)", j, err)
				}
			}
		})
	}
}
