/* libsymmetric_stream: the functions of symmetric:runtime@0.3.0 (wit-bindgen's symmetric
 * ABI) as native-stream implements them. Link with -l symmetric_stream.
 *
 * Conventions of the symmetric code generator:
 *  - a resource is a pointer (handle); an owned resource passed in is taken over, one
 *    returned is the caller's until its [resource-drop] function;
 *  - bool comes back as int32_t (0 or 1), u64 travels as int64_t;
 *  - result/option/list results go to a return area passed last: two pointer-sized words,
 *    pointer-aligned (SYMMETRIC_RET_AREA). result and option: discriminant byte at offset 0,
 *    payload at offset sizeof(void *). list: pointer in word 0, length in word 1; the caller
 *    frees the pointer with free() (null for an empty list): the runtime allocates it with
 *    the Rust global allocator, which is malloc's under Rust's default allocator;
 *  - a callback-function is a function pointer `uint8_t (*)(uint8_t *data)` returning a
 *    callback-state (0 pending: call again, 1 ready: done).
 *
 * See docs/symmetric.md for the mapping to the engine and the semantics chosen where the
 * WIT is silent. */
#ifndef SYMMETRIC_STREAM_H
#define SYMMETRIC_STREAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* callback-state */
#define SYMMETRIC_CALLBACK_PENDING 0
#define SYMMETRIC_CALLBACK_READY 1
/* stream-state (the error of start-writing) */
#define SYMMETRIC_STREAM_EOF 0
#define SYMMETRIC_STREAM_PENDING 1

/* The return area of result, option and list results. */
typedef struct symmetric_ret_area {
    void *word[2];
} SYMMETRIC_RET_AREA;

/* A callback-function. */
typedef uint8_t (*symmetric_callback_fn)(uint8_t *data);

/* symmetric:runtime/symmetric-executor@0.3.0 */
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_function(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_data(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_subscription(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Devent_generator(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5Bresource_dropX5Dcallback_registration(uint8_t *);
int32_t symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Eready(uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Devent_subscriptionX2Efrom_timeout(int64_t);
uint8_t * symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Edup(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_subscriptionX2Ereset(uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BconstructorX5Devent_generator(void);
uint8_t * symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Esubscribe(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BmethodX5Devent_generatorX2Eactivate(uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00X5BstaticX5Dcallback_registrationX2Ecancel(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00run(void);
uint8_t * symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00register(uint8_t *, uint8_t *, uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_executorX400X2E3X2E0X00block_on(uint8_t *);

/* symmetric:runtime/symmetric-stream@0.3.0 */
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Daddress(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dbuffer(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5Bresource_dropX5Dstream_obj(uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dbuffer(uint8_t *, int64_t);
uint8_t * symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_address(uint8_t *);
int64_t symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eget_size(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Eset_size(uint8_t *, int64_t);
int64_t symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5DbufferX2Ecapacity(uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BconstructorX5Dstream_obj(void);
uint8_t * symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclone(uint8_t *);
int32_t symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_write_closed(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_reading(uint8_t *, uint8_t *, uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_ready_subscribe(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eclose_read(uint8_t *, uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eread_result(uint8_t *, uint8_t *);
int32_t symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Eis_read_closed(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Estart_writing(uint8_t *, uint8_t *);
uint8_t * symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Ewrite_ready_subscribe(uint8_t *);
void symmetricX3AruntimeX2Fsymmetric_streamX400X2E3X2E0X00X5BmethodX5Dstream_objX2Efinish_writing(uint8_t *, int32_t, uint8_t *);

#ifdef __cplusplus
}
#endif

#endif /* SYMMETRIC_STREAM_H */
