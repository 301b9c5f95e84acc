package metrics

// WebhookRecorder counts payment webhook deliveries. Payment integrations
// take one (a *Metrics, or nil to count nothing) and call Webhook once per
// delivery.
type WebhookRecorder interface {
	// Webhook counts one delivery. provider is a fixed name ("stripe");
	// outcome is a fixed word: "processed", "duplicate", "ignored",
	// "bad-signature", "malformed", "error". Never an event or order id.
	Webhook(provider, outcome string)
}

var _ WebhookRecorder = (*Metrics)(nil)

// Webhook implements WebhookRecorder. Values that are not short lower-case
// words are counted as "other".
func (m *Metrics) Webhook(provider, outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(Label(provider), Label(outcome)).Inc()
}
