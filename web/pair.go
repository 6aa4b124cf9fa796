package web

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// This file holds the pairing and pending-device routes.

func (s *server) ignoreDevice(w http.ResponseWriter, r *http.Request) error {
	id, err := canonicalID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.backend.IgnoreDevice(r.Context(), id); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) createOffer(w http.ResponseWriter, r *http.Request) error {
	var req OfferRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.TTL != "" {
		ttl, err := time.ParseDuration(req.TTL)
		if err != nil || ttl <= 0 {
			return badRequest("ttl " + req.TTL + " is not a positive duration such as 10m")
		}
	}
	for _, f := range req.Folders {
		if f == "" {
			return badRequest("empty folder ID in folders")
		}
	}
	o, err := s.backend.CreateOffer(r.Context(), req)
	if err != nil {
		return err
	}
	o.normalize()
	return writeJSON(w, o)
}

func (s *server) currentOffer(w http.ResponseWriter, r *http.Request) error {
	o, err := s.backend.CurrentOffer(r.Context())
	if err != nil {
		return err
	}
	o.normalize()
	return writeJSON(w, o)
}

func (s *server) cancelOffer(w http.ResponseWriter, r *http.Request) error {
	if err := s.backend.CancelOffer(r.Context()); err != nil {
		return err
	}
	return writeJSON(w, okResponse{OK: true})
}

func (s *server) join(w http.ResponseWriter, r *http.Request) error {
	var req JoinRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	req.Code = strings.TrimSpace(req.Code)
	req.Addr = strings.TrimSpace(req.Addr)
	if req.Code == "" {
		return badRequest("missing pairing code")
	}
	for id, path := range req.Folders {
		if id == "" || path == "" {
			return badRequest("folders maps folder IDs to paths; neither may be empty")
		}
	}
	if slices.Contains(req.Existing, "") {
		return badRequest("empty folder ID in existing")
	}
	res, err := s.backend.Join(r.Context(), req)
	if err != nil {
		return err
	}
	res.Folders = nonNil(res.Folders)
	res.Declined = nonNil(res.Declined)
	res.Unconfirmed = nonNil(res.Unconfirmed)
	return writeJSON(w, res)
}

// normalize replaces a null folder list with an empty one.
func (o *Offer) normalize() {
	o.Folders = nonNil(o.Folders)
}
