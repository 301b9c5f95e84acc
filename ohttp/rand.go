package ohttp

import "crypto/rand"

var cryptoRand = rand.Reader
