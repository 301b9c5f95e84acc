package daemon

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// newProbeCmd is `blindpassd probe URL`: a health check for images without
// a shell or curl (the distroless image), e.g. a compose healthcheck.
func newProbeCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe URL",
		Short: "GET a health URL (e.g. http://127.0.0.1:8700/readyz); exit 0 on 200, 1 otherwise",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := url.Parse(args[0])
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				return usageError{fmt.Errorf("%q is not an http(s) URL", args[0])}
			}
			c := &http.Client{Timeout: timeout}
			resp, err := c.Get(u.String())
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", u.Redacted(), resp.Status)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// maxKEKCopy bounds the file copy-kek reads.
const maxKEKCopy = 1024

// newCopyKEKCmd is `blindpassd keys copy-kek SRC DST`. Kubernetes mounts
// Secret files owned by root and, with fsGroup, group-readable (0440); the
// issuer only accepts a key file that nobody but its owner can read. An
// init container copies the key into a private in-memory volume with mode
// 0600, owned by the (non-root) user that runs the issuer.
func newCopyKEKCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "copy-kek SRC DST",
		Short: "Copy a key-encryption key file to a new file only its owner can read (0600), e.g. out of a Kubernetes Secret volume",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dst := args[0], args[1]
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, maxKEKCopy+1))
			if err != nil {
				return fmt.Errorf("read %s: %w", src, err)
			}
			if len(b) == 0 || len(b) > maxKEKCopy {
				return fmt.Errorf("%s: %d bytes; a key-encryption key file holds one base64 32-byte key", src, len(b))
			}
			out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists; copy-kek never overwrites a key", dst)
			}
			if err != nil {
				return err
			}
			if _, err := out.Write(b); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "copied the key-encryption key to %s (mode 0600)\n", dst)
			return nil
		},
	}
}
