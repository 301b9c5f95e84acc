package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/blindpass/blindpass/internal/store"
)

// webhookLimit is how many payment events the pages show.
const webhookLimit = 200

// webhooksPage serves GET /webhooks: the newest payment events and what
// became of each.
func (s *Server) webhooksPage(c echo.Context) error {
	events, err := s.st.ListPaymentEvents(c.Request().Context(), webhookLimit)
	if err != nil {
		return storeError(err)
	}
	return s.render(c, http.StatusOK, "webhooks", "Webhooks", events)
}

// auditLimit is how many audit entries the audit page reads.
const auditLimit = 500

type auditData struct {
	Action string
	Events []store.AuditEvent
}

// auditPage serves GET /audit[?action=prefix]: the newest audit entries.
func (s *Server) auditPage(c echo.Context) error {
	events, err := s.st.ListAudit(c.Request().Context(), auditLimit)
	if err != nil {
		return storeError(err)
	}
	d := auditData{Action: c.QueryParam("action")}
	for _, e := range events {
		if d.Action == "" || len(e.Action) >= len(d.Action) && e.Action[:len(d.Action)] == d.Action {
			d.Events = append(d.Events, e)
		}
	}
	return s.render(c, http.StatusOK, "audit", "Audit log", d)
}
