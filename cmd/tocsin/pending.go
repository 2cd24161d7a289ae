package main

import (
	"context"
	"errors"
	"io"

	"github.com/tocsin-relay/tocsin/modem"
)

func modemCall(ctx context.Context, m *modem.Modem, args []string, out io.Writer) error {
	return errors.New("voice calls: not built yet")
}
