package wallet

import "errors"

// Errors a caller may want to tell apart (compare with errors.Is).
var (
	// ErrPassphraseRequired: the wallet (or import file) is encrypted and no
	// passphrase was given.
	ErrPassphraseRequired = errors.New("wallet: the wallet is encrypted; a passphrase is required")
	// ErrWrongPassphrase: the passphrase does not decrypt the wallet.
	ErrWrongPassphrase = errors.New("wallet: wrong passphrase")
	// ErrCorrupt: the file is neither a wallet nor an age-encrypted wallet.
	ErrCorrupt = errors.New("wallet: the file is not a valid wallet")
	// ErrNotEnoughTokens: Take found fewer matching tokens than asked for
	// (and took none). The error message says how many there are.
	ErrNotEnoughTokens = errors.New("wallet: not enough tokens")
)
