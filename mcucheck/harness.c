/* The generated forecaster on a bare-metal Cortex-M under QEMU, or on this machine (`make
 * mcu-check`): the same source both ways, so every printed forecast can be compared.
 *
 * ef_step runs over the reference stream from a zero state and over every stress window (model
 * units, as the export's gate runs them), then ef_push over samples in data units; each result
 * is printed as the hex of its float's bits (a step's HORIZON outputs on one line). Built with -DEF_INTEGER, the integer-only source's
 * efi_step does the same on Q12 inputs (no ef_push), each result the hex of its int16, and the
 * harness has no float either. On the MCU, SysTick counts the ticks of each part (under QEMU's
 * -icount a tick is a fixed number of instructions: a loop of known length measures it), and
 * the stack, painted first, gives its high-water mark. Built with -DEF_TFLM, ef_step is
 * TensorFlow Lite Micro's run of the int8 step file (tflm_step.cc), and there is no ef_push. Output goes through semihosting; nothing
 * of the C library is used but what the forecaster calls itself. */
#include <stdint.h>

#ifdef EF_INTEGER
#include "forecaster_integer.h"
typedef int16_t value;
#define STATE_SIZE EFI_STATE_SIZE
#define WINDOW EFI_WINDOW
#define HORIZON EFI_HORIZON
#define STEP efi_step
#define HEX_DIGITS 4
#else
#include "forecaster.h"
typedef float value;
#define STATE_SIZE EF_STATE_SIZE
#define WINDOW EF_WINDOW
#define HORIZON EF_HORIZON
#define STEP ef_step
#define HEX_DIGITS 8
#endif
#include "mcu_data.h" /* MCU_SERIES, MCU_STRESS[, MCU_SAMPLES] of values (made by mcucheck) */

#define CALIBRATION_LOOPS 1000000u /* two instructions each: subs, bne */

#ifdef __arm__
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CPACR (*(volatile uint32_t *)0xE000ED88u)
#define PAINT 0xC0FFEE11u

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_bottom, _estack;
static volatile uint32_t wraps; /* SysTick counts down 24 bits, then interrupts */

void SysTick_Handler(void) { wraps++; }

static uint64_t ticks(void) {
    uint32_t w, v;
    do {
        w = wraps;
        v = SYST_CVR;
    } while (w != wraps);
    return ((uint64_t)w << 24) + (0xFFFFFFu - v);
}

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void write_text(const char *text) { semihost(0x04, text); } /* SYS_WRITE0 */

static void calibrate(uint32_t loops) {
#if defined(__ARM_ARCH_6M__) /* GCC writes ARMv6-M's assembly in divided syntax: sub sets flags */
    __asm__ volatile("1: sub %0, #1\n\tbne 1b" : "+l"(loops) : : "cc");
#else
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+l"(loops) : : "cc");
#endif
}
#else
#include <stdio.h>
static uint64_t ticks(void) { return 0; }
static void write_text(const char *text) { fputs(text, stdout); }
static void calibrate(uint32_t loops) { (void)loops; }
#endif

static char out[512];
static unsigned used;

static void flush(void) {
    out[used] = 0;
    if (used) write_text(out);
    used = 0;
}

static void put(const char *s) {
    while (*s) {
        if (used == sizeof out - 1) flush();
        out[used++] = *s++;
    }
}

static void put_uint(uint64_t v) {
    char b[21];
    int i = 20;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(b + i);
}

static void put_value(value v) { /* the hex of its bits */
    union {
        value v;
        uint32_t u;
    } x = {0};
    x.v = v;
    char b[HEX_DIGITS + 1];
    for (int i = HEX_DIGITS - 1; i >= 0; i--, x.u >>= 4) b[i] = "0123456789abcdef"[x.u & 15u];
    b[HEX_DIGITS] = 0;
    put(b);
}

static void put_count(const char *name, uint64_t value) {
    put(name);
    put(" ");
    put_uint(value);
    put("\n");
}

static volatile value sink; /* timed loops store here, so nothing is optimized away */
static value y[HORIZON];     /* a step's outputs */

static value stream_step(int i, value *state) {
    STEP(state, MCU_SERIES[i], y);
    return y[0];
}

static void put_outputs(const char *name) {
    put(name);
    for (int h = 0; h < HORIZON; h++) {
        put(" ");
        put_value(y[h]);
    }
    put("\n");
}

int main(void) {
    static value state[STATE_SIZE]; /* static, as the stream: not on the stack measured */
    uint64_t t0 = ticks();
    calibrate(CALIBRATION_LOOPS);
    put_count("calibration_instructions", 2ull * CALIBRATION_LOOPS);
    put_count("calibration_ticks", ticks() - t0);

    /* timed: the stream through ef_step, then through ef_push (model, score and flags) */
    for (int j = 0; j < STATE_SIZE; j++) state[j] = 0;
    t0 = ticks();
    for (int i = 0; i < MCU_SERIES_LEN; i++) sink = stream_step(i, state);
    put_count("step_ticks", ticks() - t0);
    put_count("steps", MCU_SERIES_LEN);
#if !defined(EF_INTEGER) && !defined(EF_TFLM) /* ef_push: the generated sources' */
    static ef_stream s; /* static: the stack measured is the forecaster's own */
    ef_reset(&s);
    float forecast[EF_HORIZON] = {0};
    t0 = ticks();
    for (int i = 0; i < MCU_SAMPLES_LEN; i++) sink = (float)ef_push(&s, MCU_SAMPLES[i], forecast);
    put_count("push_ticks", ticks() - t0);
    put_count("pushes", MCU_SAMPLES_LEN);
    put_count("stream_bytes", sizeof(ef_stream));
#endif

    /* printed: the same again, every result */
    for (int j = 0; j < STATE_SIZE; j++) state[j] = 0;
    for (int i = 0; i < MCU_SERIES_LEN; i++) {
        stream_step(i, state);
        put_outputs("step");
    }
    for (int k = 0; k < MCU_STRESS_LEN; k++) {
        for (int j = 0; j < STATE_SIZE; j++) state[j] = 0;
        for (int t = 0; t < WINDOW; t++) STEP(state, MCU_STRESS[k][t], y);
        put_outputs("stress");
    }
#if !defined(EF_INTEGER) && !defined(EF_TFLM) /* ef_push: the generated sources' */
    ef_reset(&s);
    for (int i = 0; i < MCU_SAMPLES_LEN; i++) {
        int ready = ef_push(&s, MCU_SAMPLES[i], forecast);
        put("push ");
        put_value(ready ? forecast[0] : 0.0f);
        put(" ");
        put_value(s.score);
        put("\n");
    }
#endif
#ifdef __arm__
    uint32_t *p = &_stack_bottom;
    while (p < &_estack && *p == PAINT) p++;
    put_count("stack_bytes", (uint64_t)((uintptr_t)&_estack - (uintptr_t)p));
#endif
#ifdef EF_TFLM
    extern uint32_t tflm_arena_used;
    put_count("arena_bytes", tflm_arena_used);
#endif
    put("end\n");
    flush();
    return 0;
}

#ifdef __arm__
/* Start-up: the vector table, .data copied from flash, .bss zeroed, the FPU on where there is
 * one, the stack painted below the current frame, SysTick free-running, then main. */
void Reset_Handler(void);
static void fault(void) {
    write_text("fault\n");
    for (;;) semihost(0x18, (const void *)0x20026); /* SYS_EXIT */
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    &_estack, Reset_Handler, fault, fault, fault, fault, fault, 0,
    0,        0,             0,     fault, fault, 0,     fault, SysTick_Handler,
};

void Reset_Handler(void) {
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP)
    CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
    __asm__ volatile("dsb\n\tisb");
#endif
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &_stack_bottom; p < sp - 8; p++) *p = PAINT;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt, processor clock */
    while (SYST_CVR == 0) continue; /* it counts from the reload value once it has loaded it */
    main();
    for (;;) semihost(0x18, (const void *)0x20026); /* SYS_EXIT: ADP_Stopped_ApplicationExit */
}
#endif
