// Stream fixed-point inputs read on the serial port through the integer-only forecaster: model
// units times 2^EFI_X_BITS in, the forecasts of the next EFI_HORIZON out, in the same units (the
// normalization, (sample - center) / scale, is in the model's model.json). No float anywhere.
#include <forecaster_integer.h>

static int16_t state[EFI_STATE_SIZE];  // all zero to start

void setup() { Serial.begin(115200); }

void loop() {
  if (Serial.available() <= 0) return;
  int16_t x = (int16_t)Serial.parseInt();
  int16_t y[EFI_HORIZON];
  efi_step(state, x, y);
  for (int h = 0; h < EFI_HORIZON; h++) {
    Serial.print(y[h]);
    Serial.print(h + 1 < EFI_HORIZON ? ' ' : '\n');
  }
}
