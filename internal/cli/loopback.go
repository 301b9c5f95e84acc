package cli

import (
	"fmt"
	"net"
	"strings"
)

// checkListen refuses a listen address that is not on loopback, unless
// remote is allowed: the proxy spends the wallet's tokens for whoever can
// reach it.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("--listen %q: want host:port (e.g. 127.0.0.1:8787): %w", addr, err)
	}
	if allowRemote || loopbackHost(host) {
		return nil
	}
	return usageErrorf("--listen %s is not a loopback address: anyone who can reach it could spend your tokens; use 127.0.0.1, or pass --allow-remote if you mean it", addr)
}

// loopbackHost reports whether host is "localhost" or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// hostOf is the host part of a Host header.
func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func describeListen(addr string) string {
	return fmt.Sprintf("http://%s/v1", addr)
}
