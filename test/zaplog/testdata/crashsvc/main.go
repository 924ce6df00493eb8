// Command crashsvc is a service that logs with zap's production config (JSON
// on stderr) and then dies of an unrecovered panic, so that its stderr holds
// zap lines and the Go runtime's crash report, as a service's captured
// output does. TestBinaryCrashReport builds and runs it.
package main

import (
	"fmt"
	"os"

	"go.uber.org/zap"
)

func lookupInventory(items []int, i int) int {
	return items[i]
}

func main() {
	logger := zap.Must(zap.NewProduction())
	logger.Info("order placed", zap.String("order_id", "ord-1"), zap.Int("items", 3))
	_ = logger.Sync()
	items := []int{1, 2, 3}
	fmt.Println(lookupInventory(items, len(os.Args)+4))
}
