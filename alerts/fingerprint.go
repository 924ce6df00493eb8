package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
)

// Fingerprint returns the stable identity of an alert with the given labels:
// the same labels give the same fingerprint in every process, on every
// machine and with every Go version, so the SLO and anomaly connectors can
// compute alert.fingerprint themselves and a restart changes nothing.
//
// Algorithm (version 1, a public contract: changing it re-opens every
// PagerDuty incident): drop labels with an empty value (an empty label is the
// same as a missing one for matchers), sort the rest by name in byte order,
// feed SHA-256 with name, 0xFF, value, 0xFF for each label in turn (0xFF never
// occurs in UTF-8, so no two label sets produce the same byte stream), and
// return the first 8 bytes of the digest as 16 lowercase hex digits.
func Fingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for name, value := range labels {
		if value != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	h := sha256.New()
	sep := []byte{0xFF}
	for _, name := range names {
		h.Write([]byte(name))
		h.Write(sep)
		h.Write([]byte(labels[name]))
		h.Write(sep)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
