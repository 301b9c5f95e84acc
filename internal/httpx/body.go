package httpx

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/problem"
)

// ErrBodyUnreadable: the request body could not be read (malformed chunked
// framing, a body shorter than its Content-Length): the client's fault, so
// a 400, never a 500.
var ErrBodyUnreadable = problem.Define(problem.Malformed, "body-unreadable", "the request body could not be read")

// readableBody makes every handler's body read errors ErrBodyUnreadable.
func readableBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = bodyReader{r.Body}
		}
		return next(c)
	}
}

// bodyReader turns read errors other than the end of the body into
// ErrBodyUnreadable (wrapping the cause, for the logs).
type bodyReader struct{ io.ReadCloser }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && err != io.EOF && !errors.As(err, &mbe) {
		err = ErrBodyUnreadable.Wrapping(err)
	}
	return n, err
}
