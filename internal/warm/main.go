package main
import (
 _ "github.com/cloudflare/circl/blindsign/blindrsa"
 _ "github.com/jackc/pgx/v5/pgxpool"
 _ "github.com/jackc/pgx/v5/stdlib"
 _ "github.com/labstack/echo/v4"
 _ "github.com/pressly/goose/v3"
 _ "modernc.org/sqlite"
 _ "github.com/spf13/cobra"
 _ "golang.org/x/crypto/cryptobyte"
 _ "github.com/prometheus/client_golang/prometheus"
)
func main(){}
