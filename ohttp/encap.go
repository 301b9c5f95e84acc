package ohttp

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// Labels of RFC 9458 §4.3-4.4 and draft-ietf-ohai-chunked-ohttp §6.
const (
	labelRequest         = "message/bhttp request"
	labelResponse        = "message/bhttp response"
	labelChunkedRequest  = "message/bhttp chunked request"
	labelChunkedResponse = "message/bhttp chunked response"
)

// PrivateKey is a gateway key: its configuration and X25519 secret key.
type PrivateKey struct {
	Config KeyConfig
	sk     kem.PrivateKey
}

// NewPrivateKey generates a key pair with identifier id, offering the one
// suite this package uses. rand nil means crypto/rand.
func NewPrivateKey(id uint8, rand io.Reader) (*PrivateKey, error) {
	seed := make([]byte, hpke.KEM_X25519_HKDF_SHA256.Scheme().SeedSize())
	if rand == nil {
		rand = cryptoRand
	}
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("ohttp: key seed: %w", err)
	}
	_, sk := hpke.KEM_X25519_HKDF_SHA256.Scheme().DeriveKeyPair(seed)
	raw, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return PrivateKeyFromBytes(id, raw)
}

// PrivateKeyFromBytes rebuilds a key from its identifier and 32-byte X25519
// secret key (as MarshalSecret returns).
func PrivateKeyFromBytes(id uint8, secret []byte) (*PrivateKey, error) {
	sk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().UnmarshalBinaryPrivateKey(secret)
	if err != nil {
		return nil, fmt.Errorf("%w: X25519 secret key: %v", ErrMalformed, err)
	}
	pk, err := sk.Public().MarshalBinary()
	if err != nil {
		return nil, err
	}
	return &PrivateKey{sk: sk, Config: KeyConfig{
		KeyID: id, KEM: KEMX25519, PublicKey: pk,
		Algorithms: []SymmetricAlgorithm{{KDF: KDFHKDFSHA256, AEAD: AEADAES128GCM}},
	}}, nil
}

// MarshalSecret is the 32-byte X25519 secret key (seal it before storing).
func (k *PrivateKey) MarshalSecret() []byte {
	b, _ := k.sk.MarshalBinary()
	return b
}

// header is key id || KEM || KDF || AEAD of an encapsulated request.
func header(c KeyConfig) []byte {
	h := make([]byte, headerSize)
	h[0] = c.KeyID
	binary.BigEndian.PutUint16(h[1:], KEMX25519)
	binary.BigEndian.PutUint16(h[3:], KDFHKDFSHA256)
	binary.BigEndian.PutUint16(h[5:], AEADAES128GCM)
	return h
}

func info(label string, hdr []byte) []byte {
	b := append([]byte(label), 0)
	return append(b, hdr...)
}

// ResponseContext is what a client keeps from encapsulating a request to
// decrypt the response.
type ResponseContext struct {
	ctx hpke.Context
	enc []byte
}

// EncapsulateRequest encrypts a Binary HTTP request for the gateway key c
// (RFC 9458 §4.3). rand nil means crypto/rand.
func EncapsulateRequest(c KeyConfig, msg []byte, rand io.Reader) ([]byte, *ResponseContext, error) {
	hdr, enc, sealer, err := setupSender(c, labelRequest, rand)
	if err != nil {
		return nil, nil, err
	}
	ct, err := sealer.Seal(msg, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: seal: %w", err)
	}
	out := append(append(hdr, enc...), ct...)
	return out, &ResponseContext{ctx: sealer, enc: enc}, nil
}

func setupSender(c KeyConfig, label string, rand io.Reader) (hdr, enc []byte, s hpke.Sealer, err error) {
	if !c.Supported() {
		return nil, nil, nil, fmt.Errorf("%w: key configuration %d", ErrUnsupported, c.KeyID)
	}
	pk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().UnmarshalBinaryPublicKey(c.PublicKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: public key: %v", ErrMalformed, err)
	}
	hdr = header(c)
	sender, err := suite.NewSender(pk, info(label, hdr))
	if err != nil {
		return nil, nil, nil, err
	}
	if rand == nil {
		rand = cryptoRand
	}
	enc, s, err = sender.Setup(rand)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ohttp: HPKE setup: %w", err)
	}
	return hdr, enc, s, nil
}

// OpenResponse decrypts an encapsulated response (RFC 9458 §4.4).
func (rc *ResponseContext) OpenResponse(b []byte) ([]byte, error) {
	if len(b) < responseNonce+16 {
		return nil, fmt.Errorf("%w: encapsulated response of %d bytes", ErrMalformed, len(b))
	}
	aead, nonce, err := responseKeys(rc.ctx, labelResponse, rc.enc, b[:responseNonce])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, b[responseNonce:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: response", ErrDecrypt)
	}
	return pt, nil
}

// responseKeys derives the response AEAD and base nonce (RFC 9458 §4.4).
func responseKeys(ctx hpke.Context, label string, enc, nonce []byte) (cipher.AEAD, []byte, error) {
	secret := ctx.Export([]byte(label), responseNonce)
	salt := append(append([]byte{}, enc...), nonce...)
	prk := hpke.KDF_HKDF_SHA256.Extract(secret, salt)
	key := hpke.KDF_HKDF_SHA256.Expand(prk, []byte("key"), aeadKeySize)
	iv := hpke.KDF_HKDF_SHA256.Expand(prk, []byte("nonce"), aeadNonceSize)
	aead, err := hpke.AEAD_AES128GCM.New(key)
	if err != nil {
		return nil, nil, err
	}
	return aead, iv, nil
}

// Keys is the gateway's set of private keys, looked up by key identifier.
type Keys []*PrivateKey

func (ks Keys) find(id uint8) *PrivateKey {
	for _, k := range ks {
		if k.Config.KeyID == id {
			return k
		}
	}
	return nil
}

// Configs are the public configurations of ks, in order.
func (ks Keys) Configs() []KeyConfig {
	out := make([]KeyConfig, len(ks))
	for i, k := range ks {
		out[i] = k.Config
	}
	return out
}

// RequestContext is what a gateway keeps from decapsulating a request to
// encrypt the response.
type RequestContext struct {
	ctx hpke.Context
	enc []byte
}

// openHeader parses key id || KEM || KDF || AEAD || enc and sets up the
// receiver.
func (ks Keys) openHeader(hdr []byte, label string) (hpke.Opener, []byte, error) {
	if len(hdr) < headerSize+encSize {
		return nil, nil, fmt.Errorf("%w: encapsulated request of %d bytes", ErrMalformed, len(hdr))
	}
	kemID := binary.BigEndian.Uint16(hdr[1:])
	kdf := binary.BigEndian.Uint16(hdr[3:])
	aeadID := binary.BigEndian.Uint16(hdr[5:])
	k := ks.find(hdr[0])
	if k == nil {
		return nil, nil, fmt.Errorf("%w: %d", ErrUnknownKey, hdr[0])
	}
	if kemID != KEMX25519 || kdf != KDFHKDFSHA256 || aeadID != AEADAES128GCM {
		return nil, nil, fmt.Errorf("%w: KEM 0x%04x KDF 0x%04x AEAD 0x%04x", ErrUnsupported, kemID, kdf, aeadID)
	}
	r, err := suite.NewReceiver(k.sk, info(label, hdr[:headerSize]))
	if err != nil {
		return nil, nil, err
	}
	enc := append([]byte(nil), hdr[headerSize:headerSize+encSize]...)
	o, err := r.Setup(enc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: encapsulated key", ErrDecrypt)
	}
	return o, enc, nil
}

// DecapsulateRequest decrypts an encapsulated request (RFC 9458 §4.3).
func (ks Keys) DecapsulateRequest(b []byte) ([]byte, *RequestContext, error) {
	o, enc, err := ks.openHeader(b, labelRequest)
	if err != nil {
		return nil, nil, err
	}
	pt, err := o.Open(b[headerSize+encSize:], nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: request", ErrDecrypt)
	}
	return pt, &RequestContext{ctx: o, enc: enc}, nil
}

// SealResponse encrypts a Binary HTTP response (RFC 9458 §4.4). rand nil
// means crypto/rand.
func (rc *RequestContext) SealResponse(msg []byte, rand io.Reader) ([]byte, error) {
	if rand == nil {
		rand = cryptoRand
	}
	nonce := make([]byte, responseNonce)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("ohttp: response nonce: %w", err)
	}
	aead, iv, err := responseKeys(rc.ctx, labelResponse, rc.enc, nonce)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nonce, iv, msg, nil), nil
}
