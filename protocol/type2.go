package protocol

import (
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/cloudflare/circl/blindsign/blindrsa"

	"github.com/blindpass/blindpass/internal/rsacrt"
)

// variant is the RFC 9474 variant of token type 0x0002 (RFC 9578 §6).
const variant = blindrsa.SHA384PSSDeterministic

// Issuer side of type 0x0002.

// ErrSignFault: the blind signature computed for a request did not verify
// under the key (RFC 9474 §4.2 step 4), so it was not returned. It means a
// fault in the signer (hardware, memory, a corrupted key in memory), never a
// bad request: sending such a signature could reveal the private key.
var ErrSignFault = errors.New("protocol: blind signature failed its check")

// Signer blind-signs type-2 TokenRequests under one private key. NewSigner
// checks the key, derives its token_key_id and its CRT values once (the
// private operation runs on CRT with constant-time arithmetic,
// internal/rsacrt), so an issuer keeps one Signer per key. It is safe for
// concurrent use.
type Signer struct {
	key   *rsacrt.PrivateKey
	pub   *rsa.PublicKey
	keyID [KeyIDSize]byte
}

// NewSigner checks sk (a two-prime RSA-2048 key) and prepares a Signer.
func NewSigner(sk *rsa.PrivateKey) (*Signer, error) {
	if sk == nil || len(sk.Primes) != 2 || sk.D == nil {
		return nil, fmt.Errorf("%w: blind sign: not a two-prime RSA private key", ErrInvalidKey)
	}
	if err := checkPublicKey(&sk.PublicKey); err != nil {
		return nil, fmt.Errorf("blind sign: %w", err)
	}
	k, err := rsacrt.New(sk)
	if err != nil {
		return nil, fmt.Errorf("%w: blind sign: %w", ErrInvalidKey, err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).Set(sk.N), E: sk.E}
	return &Signer{key: k, pub: pub, keyID: KeyID(MarshalPublicKey(pub))}, nil
}

// Public is the signer's public key (a copy the caller must not change).
func (s *Signer) Public() *rsa.PublicKey { return s.pub }

// KeyID is the signer's token_key_id.
func (s *Signer) KeyID() [KeyIDSize]byte { return s.keyID }

// BlindSign signs one type-2 TokenRequest (RSABSSA-SHA384-PSS-Deterministic
// BlindSign, RFC 9474 §4.2). The request's truncated key id must be the last
// byte of the signer's key id and blinded_msg must be Nk bytes below the
// modulus. A signature that fails RFC 9474's check is never returned:
// ErrSignFault.
func (s *Signer) BlindSign(req TokenRequest) (TokenResponse, error) {
	if s == nil || s.key == nil {
		return TokenResponse{}, fmt.Errorf("%w: blind sign: no key", ErrInvalidKey)
	}
	if req.TokenType != TokenTypeBlindRSA {
		return TokenResponse{}, fmt.Errorf("%w: blind sign: type 0x%04x", ErrUnknownTokenType, req.TokenType)
	}
	if len(req.BlindedMsg) != Nk {
		return TokenResponse{}, fmt.Errorf("%w: blind sign: blinded_msg is %d bytes, want %d", ErrMalformed, len(req.BlindedMsg), Nk)
	}
	if s.keyID[KeyIDSize-1] != req.TruncatedTokenKeyID {
		return TokenResponse{}, fmt.Errorf("%w: blind sign: truncated key id 0x%02x, key has 0x%02x",
			ErrKeyIDMismatch, req.TruncatedTokenKeyID, s.keyID[KeyIDSize-1])
	}
	sig, err := s.key.Sign(req.BlindedMsg)
	switch {
	case errors.Is(err, rsacrt.ErrMessageRange):
		return TokenResponse{}, fmt.Errorf("%w: blind sign: blinded_msg is not below the modulus", ErrMalformed)
	case errors.Is(err, rsacrt.ErrFault):
		return TokenResponse{}, fmt.Errorf("%w: %w", ErrSignFault, err)
	case err != nil:
		return TokenResponse{}, fmt.Errorf("blind sign: %w", err)
	}
	return TokenResponse{BlindSig: sig}, nil
}

// BlindSign signs one type-2 TokenRequest with sk: NewSigner(sk) then its
// BlindSign. An issuer signing many requests keeps the Signer instead, so
// that the key's CRT values are derived once.
func BlindSign(sk *rsa.PrivateKey, req TokenRequest) (TokenResponse, error) {
	s, err := NewSigner(sk)
	if err != nil {
		return TokenResponse{}, err
	}
	return s.BlindSign(req)
}

// Client side of type 0x0002.

// ClientState is what the client keeps between request and response.
type ClientState struct {
	client blindrsa.Client
	state  blindrsa.State
	pub    *rsa.PublicKey
	token  Token // everything but the authenticator
}

// NewTokenRequest makes a fresh nonce, builds the token input for the
// challenge and key, and blinds it. It reads from rand the nonce (32 bytes),
// then the PSS salt (48 bytes), then the blind.
func NewTokenRequest(rand io.Reader, pub *rsa.PublicKey, challenge TokenChallenge) (TokenRequest, *ClientState, error) {
	if rand == nil {
		return TokenRequest{}, nil, errors.New("protocol: token request: no randomness source")
	}
	if err := checkPublicKey(pub); err != nil {
		return TokenRequest{}, nil, fmt.Errorf("token request: %w", err)
	}
	if err := challenge.Validate(); err != nil {
		return TokenRequest{}, nil, fmt.Errorf("token request: %w", err)
	}
	client, err := blindrsa.NewClient(variant, pub)
	if err != nil {
		return TokenRequest{}, nil, fmt.Errorf("token request: %w", err)
	}
	t := Token{
		TokenType:       TokenTypeBlindRSA,
		ChallengeDigest: challenge.Digest(),
		TokenKeyID:      KeyID(MarshalPublicKey(pub)),
	}
	if _, err := io.ReadFull(rand, t.Nonce[:]); err != nil {
		return TokenRequest{}, nil, fmt.Errorf("token request: nonce: %w", err)
	}
	blinded, state, err := client.Blind(rand, t.AuthenticatorInput())
	if err != nil {
		return TokenRequest{}, nil, fmt.Errorf("token request: blind: %w", err)
	}
	req := TokenRequest{
		TokenType:           TokenTypeBlindRSA,
		TruncatedTokenKeyID: t.TokenKeyID[KeyIDSize-1],
		BlindedMsg:          blinded,
	}
	return req, &ClientState{client: client, state: state, pub: pub, token: t}, nil
}

// Finalize unblinds the response into a Token and verifies it.
func (s *ClientState) Finalize(resp TokenResponse) (Token, error) {
	if s == nil || s.pub == nil {
		return Token{}, errors.New("protocol: finalize: no client state")
	}
	if len(resp.BlindSig) != Nk {
		return Token{}, fmt.Errorf("%w: finalize: blind_sig is %d bytes, want %d", ErrMalformed, len(resp.BlindSig), Nk)
	}
	sig, err := s.client.Finalize(s.state, resp.BlindSig)
	if err != nil {
		return Token{}, fmt.Errorf("%w: finalize: %w", ErrInvalidSignature, err)
	}
	t := s.token
	t.Authenticator = sig
	if err := VerifyToken(s.pub, t); err != nil {
		return Token{}, fmt.Errorf("finalize: %w", err)
	}
	return t, nil
}

// Verifier side.

// VerifyToken checks a type-2 token's authenticator under pub, and that the
// token's key id is pub's (the caller checks the challenge digest it
// expects).
func VerifyToken(pub *rsa.PublicKey, t Token) error {
	v, err := NewVerifier(pub)
	if err != nil {
		return err
	}
	return v.Verify(t)
}

// Verifier checks type-2 tokens under one public key. It checks the key,
// derives its token_key_id and prepares its modulus for RSASSA-PSS
// verification (pss.go) once, so a redeemer verifying many tokens under the
// same key does not redo that work per token. Copies share the prepared key,
// which is read-only: a Verifier is safe for concurrent use.
type Verifier struct {
	key   *pssKey
	keyID [KeyIDSize]byte
}

// NewVerifier checks pub (RSA-2048) and prepares a Verifier for it. The
// Verifier keeps a copy of the key: changing pub afterwards does not change
// it.
func NewVerifier(pub *rsa.PublicKey) (Verifier, error) {
	if err := checkPublicKey(pub); err != nil {
		return Verifier{}, fmt.Errorf("verify token: %w", err)
	}
	key, err := newPSSKey(pub)
	if err != nil {
		return Verifier{}, fmt.Errorf("verify token: %w", err)
	}
	return Verifier{key: key, keyID: KeyID(MarshalPublicKey(pub))}, nil
}

// Verify is VerifyToken under the Verifier's key.
func (v Verifier) Verify(t Token) error {
	if v.key == nil {
		return fmt.Errorf("%w: verify token: no key", ErrInvalidKey)
	}
	if t.TokenType != TokenTypeBlindRSA {
		return fmt.Errorf("%w: verify token: type 0x%04x", ErrUnknownTokenType, t.TokenType)
	}
	if len(t.Authenticator) != Nk {
		return fmt.Errorf("%w: verify token: authenticator is %d bytes, want %d", ErrMalformed, len(t.Authenticator), Nk)
	}
	if v.keyID != t.TokenKeyID {
		return fmt.Errorf("%w: verify token: token_key_id is not the key's", ErrKeyIDMismatch)
	}
	digest := sha512.Sum384(t.AuthenticatorInput())
	if err := v.key.verify(digest[:], t.Authenticator); err != nil {
		return fmt.Errorf("%w: verify token: %w", ErrInvalidSignature, err)
	}
	return nil
}
