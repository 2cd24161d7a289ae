package console

import (
	"crypto/subtle"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt cost of the hashes HashPassword writes: about
// 50 ms per login on a Raspberry Pi 4, which the login limiter multiplies
// into hours for a guesser, while a person logging in does not notice.
const PasswordCost = 10

// HashPassword returns the bcrypt hash of password, to store in a
// password_file (`tocsin passwd`, `tocsin init`) instead of the password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), PasswordCost)
	return string(h), err
}

// IsPasswordHash reports whether a stored secret is a bcrypt hash ($2a$,
// $2b$ or $2y$, as HashPassword and `htpasswd -B` write) rather than the
// password itself.
func IsPasswordHash(secret string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(secret, p) {
			return true
		}
	}
	return false
}

// dummyHash is compared against when no user has the name given, so that
// a wrong name costs the same time as a wrong password and does not tell
// a guesser which names exist.
// It is made on first use, not at start: every CLI command links this
// package.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no such user")
	return h
})

// hashing lets one bcrypt comparison run at a time: the login limiter
// counts failures per address only after they happen, so without it a
// burst of concurrent guesses (32 connections per address are allowed)
// would take every core of a Pi for as long as it lasts. A person logging
// in waits at most a few comparisons.
var hashing = make(chan struct{}, 1)

// passwordMatches reports whether given is the password stored as secret:
// a bcrypt hash, or (older configs, the demo) the password in plain text,
// compared in constant time.
func passwordMatches(secret, given string) bool {
	if secret == "" {
		return false
	}
	if IsPasswordHash(secret) {
		hashing <- struct{}{}
		defer func() { <-hashing }()
		return bcrypt.CompareHashAndPassword([]byte(secret), []byte(given)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(given)) == 1
}
