package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxAnswer bounds what is read of an answer (or of a prompt on stdin).
const maxAnswer = 32 << 20

// answerError turns an error answer of the gateway into an error: its RFC
// 9457 problem detail, or an OpenAI-style error message.
func answerError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Error  struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := ""
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); strings.HasSuffix(mt, "json") && json.Unmarshal(b, &body) == nil {
		msg = firstNonEmpty(body.Detail, body.Error.Message, body.Title)
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	// The gateway's advice to API clients ("; your tokens were not consumed,
	// send them again") is replaced by what the CLI did with them.
	if i := strings.Index(msg, "; your tokens "); i > 0 {
		msg = msg[:i]
	}
	spent := ""
	switch resp.Header.Get("Blindpass-Tokens-Consumed") {
	case "false":
		spent = " (no token was spent)"
	case "true", "replayed":
		spent = " (its tokens were spent)"
	default:
		// Issue 15 items 12-13: without an explicit "false" the tokens may
		// be spent; they are never used for another request.
		spent = " (its tokens may have been spent: they are not used for any other request)"
	}
	return fmt.Errorf("%s answered HTTP %d: %s%s", resp.Request.URL.Redacted(), resp.StatusCode, msg, spent)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// printAnswer prints the message of a non-streamed chat completion.
func printAnswer(w io.Writer, body io.Reader) error {
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(io.LimitReader(body, maxAnswer)).Decode(&c); err != nil {
		return fmt.Errorf("not a chat completion: %w", err)
	}
	if len(c.Choices) == 0 {
		return errors.New("the answer has no choices")
	}
	_, err := fmt.Fprintln(w, c.Choices[0].Message.Content)
	return err
}

// printStream prints the content deltas of a streamed chat completion
// (server-sent events) as they arrive.
func printStream(w io.Writer, body io.Reader) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // comments, event names, blank separators
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			_, err := fmt.Fprintln(w)
			return err
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			return fmt.Errorf("unreadable event: %w", err)
		}
		if chunk.Error != nil {
			return fmt.Errorf("the model failed: %s", chunk.Error.Message)
		}
		for _, c := range chunk.Choices {
			if _, err := io.WriteString(w, c.Delta.Content); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(w)
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("the answer was cut off (no [DONE])")
}
