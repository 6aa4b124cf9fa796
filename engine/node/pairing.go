package node

import (
	"context"
	"errors"

	"ferry/web"
)

var errNoPairing = errors.New("pairing is not built into this daemon yet")

// IgnoreDevice implements web.Backend.
func (n *Node) IgnoreDevice(ctx context.Context, id string) error { return errNoPairing }

// CreateOffer implements web.Backend.
func (n *Node) CreateOffer(ctx context.Context, req web.OfferRequest) (web.Offer, error) {
	return web.Offer{}, errNoPairing
}

// CurrentOffer implements web.Backend.
func (n *Node) CurrentOffer(ctx context.Context) (web.Offer, error) { return web.Offer{}, errNoPairing }

// CancelOffer implements web.Backend.
func (n *Node) CancelOffer(ctx context.Context) error { return errNoPairing }

// Join implements web.Backend.
func (n *Node) Join(ctx context.Context, req web.JoinRequest) (web.JoinResult, error) {
	return web.JoinResult{}, errNoPairing
}
