package stripe_test

// Stripe objects as webhook events carry them (API version 2023-10-16),
// with buyer data in them so tests can check it goes nowhere.

var buyer = map[string]any{
	"email": "jane.buyer@example.com", "name": "Jane Buyer", "phone": "+49 30 1234567",
	"address": map[string]any{"country": "DE", "line1": "Hauptstr. 1", "postal_code": "10115"},
}

// buyerStrings must never appear in logs or stored rows.
// (Card digits are too short to search for; a dumped object would show
// its field names.)
var buyerStrings = []string{"jane.buyer@example.com", "Jane Buyer", "Hauptstr", "+49 30", "last4", "billing_details", "customer_details"}

func sessionObj(id, orderID, mode, paymentStatus string, amount int64, currency string) map[string]any {
	s := map[string]any{
		"id": id, "object": "checkout.session", "client_reference_id": orderID, "mode": mode,
		"status": "complete", "payment_status": paymentStatus, "amount_total": amount, "amount_subtotal": amount,
		"currency": currency, "customer_details": buyer, "customer_email": buyer["email"],
		"created": 1700000000,
	}
	if mode == "payment" {
		s["payment_intent"] = "pi_" + id
	}
	return s
}

func subSessionObj(id, orderID, sub, invoice string, amount int64) map[string]any {
	s := sessionObj(id, orderID, "subscription", "paid", amount, "eur")
	s["subscription"] = sub
	s["invoice"] = invoice
	return s
}

func chargeObj(id, paymentIntent, orderID, invoice string, amount int64) map[string]any {
	c := map[string]any{
		"id": id, "object": "charge", "amount": amount, "amount_refunded": amount, "refunded": true,
		"currency": "eur", "payment_intent": paymentIntent, "billing_details": buyer,
		"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"last4": "4242", "brand": "visa", "country": "DE"}},
		"metadata":               map[string]any{},
	}
	if orderID != "" {
		c["metadata"] = map[string]any{"order_id": orderID}
	}
	if invoice != "" {
		c["invoice"] = invoice
	}
	return c
}

func disputeObj(id, charge, paymentIntent, status string) map[string]any {
	return map[string]any{"id": id, "object": "dispute", "amount": 500, "currency": "eur", "charge": charge,
		"payment_intent": paymentIntent, "status": status, "reason": "fraudulent", "metadata": map[string]any{}}
}

func invoiceObj(id, sub, orderID string, amountPaid int64, created int64) map[string]any {
	return map[string]any{
		"id": id, "object": "invoice", "subscription": sub, "amount_paid": amountPaid, "amount_due": amountPaid,
		"currency": "eur", "status": "paid", "paid": true, "created": created, "customer_email": buyer["email"],
		"customer_name": buyer["name"], "charge": "ch_" + id, "payment_intent": "pi_" + id,
		"subscription_details": map[string]any{"metadata": map[string]any{"order_id": orderID}},
	}
}

func subscriptionObj(id, orderID string, endedAt int64) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "status": "canceled", "ended_at": endedAt,
		"canceled_at": endedAt, "metadata": map[string]any{"order_id": orderID}}
}
