package issuer

import (
	"github.com/labstack/echo/v4"
)

// noStore marks every response uncacheable unless the handler says otherwise.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}
