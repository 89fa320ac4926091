/* SPDX-License-Identifier: Apache-2.0 */
/* MPI for Granary guests (wasm32-wasi): the header of the guest MPI library
 * (sdk/lib/mpi, linked by granary-mpicc). Handles are integers in the MPICH
 * style; MPI_Aint is 32-bit (wasm32 addresses), MPI_Offset and MPI_Count
 * are 64-bit. Only what the library implements is declared here, plus the
 * one-sided types and calls, which are declared but not defined: a program
 * using them fails at link time naming the function (docs/mpi.md).
 */
#ifndef GRANARY_MPI_H
#define GRANARY_MPI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define MPI_VERSION 3
#define MPI_SUBVERSION 1
#define GRANARY_MPI 1

    typedef int MPI_Comm;
    typedef int MPI_Group;
    typedef int MPI_Datatype;
    typedef int MPI_Op;
    typedef int MPI_Request;
    typedef int MPI_Errhandler;
    typedef int MPI_Message;
    typedef int MPI_Info;
    typedef int MPI_Win;
    typedef int MPI_File;
    typedef intptr_t MPI_Aint;
    typedef long long MPI_Offset;
    typedef long long MPI_Count;
    typedef int MPI_Fint;

    typedef struct MPI_Status
    {
        int MPI_SOURCE;
        int MPI_TAG;
        int MPI_ERROR;
        int gr_cancelled;   /* private */
        long long gr_count; /* private: bytes received */
    } MPI_Status;

/* Null handles and predefined communicators, groups. */
#define MPI_COMM_NULL ((MPI_Comm)0x04000000)
#define MPI_COMM_WORLD ((MPI_Comm)0x44000000)
#define MPI_COMM_SELF ((MPI_Comm)0x44000001)
#define MPI_GROUP_NULL ((MPI_Group)0x08000000)
#define MPI_GROUP_EMPTY ((MPI_Group)0x48000000)
#define MPI_REQUEST_NULL ((MPI_Request)0x2c000000)
#define MPI_MESSAGE_NULL ((MPI_Message)0x2c000000)
#define MPI_MESSAGE_NO_PROC ((MPI_Message)0x6c000000)
#define MPI_OP_NULL ((MPI_Op)0x18000000)
#define MPI_ERRHANDLER_NULL ((MPI_Errhandler)0x14000000)
#define MPI_INFO_NULL ((MPI_Info)0x1c000000)
#define MPI_INFO_ENV ((MPI_Info)0x5c000001)
#define MPI_WIN_NULL ((MPI_Win)0x20000000)
#define MPI_DATATYPE_NULL ((MPI_Datatype)0x0c000000)

/* Error handlers. */
#define MPI_ERRORS_ARE_FATAL ((MPI_Errhandler)0x54000000)
#define MPI_ERRORS_RETURN ((MPI_Errhandler)0x54000001)
#define MPI_ERRORS_ABORT ((MPI_Errhandler)0x54000003)

/* Predefined datatypes: 0x4c00SSII, SS the size in bytes (wasm32). */
#define MPI_CHAR ((MPI_Datatype)0x4c000101)
#define MPI_SIGNED_CHAR ((MPI_Datatype)0x4c000118)
#define MPI_UNSIGNED_CHAR ((MPI_Datatype)0x4c000102)
#define MPI_BYTE ((MPI_Datatype)0x4c00010d)
#define MPI_WCHAR ((MPI_Datatype)0x4c00040e)
#define MPI_SHORT ((MPI_Datatype)0x4c000203)
#define MPI_UNSIGNED_SHORT ((MPI_Datatype)0x4c000204)
#define MPI_INT ((MPI_Datatype)0x4c000405)
#define MPI_UNSIGNED ((MPI_Datatype)0x4c000406)
#define MPI_LONG ((MPI_Datatype)0x4c000407)
#define MPI_UNSIGNED_LONG ((MPI_Datatype)0x4c000408)
#define MPI_FLOAT ((MPI_Datatype)0x4c00040a)
#define MPI_DOUBLE ((MPI_Datatype)0x4c00080b)
#define MPI_LONG_DOUBLE ((MPI_Datatype)0x4c00100c)
#define MPI_LONG_LONG_INT ((MPI_Datatype)0x4c000809)
#define MPI_LONG_LONG MPI_LONG_LONG_INT
#define MPI_UNSIGNED_LONG_LONG ((MPI_Datatype)0x4c000819)
#define MPI_PACKED ((MPI_Datatype)0x4c00010f)
#define MPI_2INT ((MPI_Datatype)0x4c000816)
#define MPI_FLOAT_INT ((MPI_Datatype)0x4c000820)
#define MPI_DOUBLE_INT ((MPI_Datatype)0x4c001021)
#define MPI_LONG_INT ((MPI_Datatype)0x4c000822)
#define MPI_SHORT_INT ((MPI_Datatype)0x4c000823)
#define MPI_LONG_DOUBLE_INT ((MPI_Datatype)0x4c002024)
#define MPI_INT8_T ((MPI_Datatype)0x4c000137)
#define MPI_INT16_T ((MPI_Datatype)0x4c000238)
#define MPI_INT32_T ((MPI_Datatype)0x4c000439)
#define MPI_INT64_T ((MPI_Datatype)0x4c00083a)
#define MPI_UINT8_T ((MPI_Datatype)0x4c00013b)
#define MPI_UINT16_T ((MPI_Datatype)0x4c00023c)
#define MPI_UINT32_T ((MPI_Datatype)0x4c00043d)
#define MPI_UINT64_T ((MPI_Datatype)0x4c00083e)
#define MPI_C_BOOL ((MPI_Datatype)0x4c00013f)
#define MPI_C_FLOAT_COMPLEX ((MPI_Datatype)0x4c000840)
#define MPI_C_COMPLEX MPI_C_FLOAT_COMPLEX
#define MPI_C_DOUBLE_COMPLEX ((MPI_Datatype)0x4c001041)
#define MPI_C_LONG_DOUBLE_COMPLEX ((MPI_Datatype)0x4c002042)
#define MPI_AINT ((MPI_Datatype)0x4c000443)
#define MPI_OFFSET ((MPI_Datatype)0x4c000844)
#define MPI_COUNT ((MPI_Datatype)0x4c000845)
/* Fortran types, for C programs that name them (same layout as C's). */
#define MPI_CHARACTER ((MPI_Datatype)0x4c00011e)
#define MPI_LOGICAL ((MPI_Datatype)0x4c00041d)
#define MPI_INTEGER ((MPI_Datatype)0x4c00041b)
#define MPI_REAL ((MPI_Datatype)0x4c00041c)
#define MPI_DOUBLE_PRECISION ((MPI_Datatype)0x4c00081f)
#define MPI_COMPLEX ((MPI_Datatype)0x4c000846)
#define MPI_DOUBLE_COMPLEX ((MPI_Datatype)0x4c001047)
#define MPI_2INTEGER ((MPI_Datatype)0x4c000848)
#define MPI_2REAL ((MPI_Datatype)0x4c000849)
#define MPI_2DOUBLE_PRECISION ((MPI_Datatype)0x4c00104a)

/* Predefined reduction operations. */
#define MPI_MAX ((MPI_Op)0x58000001)
#define MPI_MIN ((MPI_Op)0x58000002)
#define MPI_SUM ((MPI_Op)0x58000003)
#define MPI_PROD ((MPI_Op)0x58000004)
#define MPI_LAND ((MPI_Op)0x58000005)
#define MPI_BAND ((MPI_Op)0x58000006)
#define MPI_LOR ((MPI_Op)0x58000007)
#define MPI_BOR ((MPI_Op)0x58000008)
#define MPI_LXOR ((MPI_Op)0x58000009)
#define MPI_BXOR ((MPI_Op)0x5800000a)
#define MPI_MINLOC ((MPI_Op)0x5800000b)
#define MPI_MAXLOC ((MPI_Op)0x5800000c)
#define MPI_REPLACE ((MPI_Op)0x5800000d)
#define MPI_NO_OP ((MPI_Op)0x5800000e)

/* Special values. */
#define MPI_ANY_SOURCE (-2)
#define MPI_PROC_NULL (-1)
#define MPI_ROOT (-3)
#define MPI_ANY_TAG (-1)
#define MPI_UNDEFINED (-32766)
#define MPI_KEYVAL_INVALID 0x24000000
#define MPI_BSEND_OVERHEAD 96
#define MPI_BOTTOM ((void*)0)
#define MPI_IN_PLACE ((void*)-1)
#define MPI_STATUS_IGNORE ((MPI_Status*)1)
#define MPI_STATUSES_IGNORE ((MPI_Status*)1)
#define MPI_ERRCODES_IGNORE ((int*)0)
#define MPI_UNWEIGHTED ((int*)2)
#define MPI_WEIGHTS_EMPTY ((int*)3)
#define MPI_ARGV_NULL ((char**)0)
#define MPI_ARGVS_NULL ((char***)0)

#define MPI_MAX_PROCESSOR_NAME 128
#define MPI_MAX_ERROR_STRING 512
#define MPI_MAX_OBJECT_NAME 128
#define MPI_MAX_LIBRARY_VERSION_STRING 256
#define MPI_MAX_INFO_KEY 255
#define MPI_MAX_INFO_VAL 1024
#define MPI_MAX_PORT_NAME 256

/* Predefined attribute keys. */
#define MPI_TAG_UB 0x64400001
#define MPI_HOST 0x64400003
#define MPI_IO 0x64400005
#define MPI_WTIME_IS_GLOBAL 0x64400007
#define MPI_UNIVERSE_SIZE 0x64400009
#define MPI_LASTUSEDCODE 0x6440000b
#define MPI_APPNUM 0x6440000d
/* Window attributes and flavors: declared so that code mentioning them
 * compiles; windows themselves are not provided (see MPI_Win_create). */
#define MPI_WIN_BASE 0x66000001
#define MPI_WIN_SIZE 0x66000003
#define MPI_WIN_DISP_UNIT 0x66000005
#define MPI_WIN_CREATE_FLAVOR 0x66000007
#define MPI_WIN_MODEL 0x66000009
#define MPI_WIN_FLAVOR_CREATE 1
#define MPI_WIN_FLAVOR_ALLOCATE 2
#define MPI_WIN_FLAVOR_DYNAMIC 3
#define MPI_WIN_FLAVOR_SHARED 4
#define MPI_WIN_SEPARATE 1
#define MPI_WIN_UNIFIED 2

/* Thread levels, comparisons, topologies, split types. */
#define MPI_THREAD_SINGLE 0
#define MPI_THREAD_FUNNELED 1
#define MPI_THREAD_SERIALIZED 2
#define MPI_THREAD_MULTIPLE 3
#define MPI_IDENT 0
#define MPI_CONGRUENT 1
#define MPI_SIMILAR 2
#define MPI_UNEQUAL 3
#define MPI_GRAPH 1
#define MPI_CART 2
#define MPI_DIST_GRAPH 3
#define MPI_COMM_TYPE_SHARED 1

/* Datatype combiners and array orders. */
#define MPI_COMBINER_NAMED 1
#define MPI_COMBINER_DUP 2
#define MPI_COMBINER_CONTIGUOUS 3
#define MPI_COMBINER_VECTOR 4
#define MPI_COMBINER_HVECTOR_INTEGER 5
#define MPI_COMBINER_HVECTOR 6
#define MPI_COMBINER_INDEXED 7
#define MPI_COMBINER_HINDEXED_INTEGER 8
#define MPI_COMBINER_HINDEXED 9
#define MPI_COMBINER_INDEXED_BLOCK 10
#define MPI_COMBINER_STRUCT_INTEGER 11
#define MPI_COMBINER_STRUCT 12
#define MPI_COMBINER_SUBARRAY 13
#define MPI_COMBINER_DARRAY 14
#define MPI_COMBINER_RESIZED 18
#define MPI_COMBINER_HINDEXED_BLOCK 19
#define MPI_ORDER_C 56
#define MPI_ORDER_FORTRAN 57

/* Error classes (MPI_Error_class maps every code to one of these). */
#define MPI_SUCCESS 0
#define MPI_ERR_BUFFER 1
#define MPI_ERR_COUNT 2
#define MPI_ERR_TYPE 3
#define MPI_ERR_TAG 4
#define MPI_ERR_COMM 5
#define MPI_ERR_RANK 6
#define MPI_ERR_ROOT 7
#define MPI_ERR_GROUP 8
#define MPI_ERR_OP 9
#define MPI_ERR_TOPOLOGY 10
#define MPI_ERR_DIMS 11
#define MPI_ERR_ARG 12
#define MPI_ERR_UNKNOWN 13
#define MPI_ERR_TRUNCATE 14
#define MPI_ERR_OTHER 15
#define MPI_ERR_INTERN 16
#define MPI_ERR_IN_STATUS 17
#define MPI_ERR_PENDING 18
#define MPI_ERR_REQUEST 19
#define MPI_ERR_ACCESS 20
#define MPI_ERR_AMODE 21
#define MPI_ERR_BAD_FILE 22
#define MPI_ERR_CONVERSION 23
#define MPI_ERR_DUP_DATAREP 24
#define MPI_ERR_FILE_EXISTS 25
#define MPI_ERR_FILE_IN_USE 26
#define MPI_ERR_FILE 27
#define MPI_ERR_INFO 28
#define MPI_ERR_INFO_KEY 29
#define MPI_ERR_INFO_VALUE 30
#define MPI_ERR_INFO_NOKEY 31
#define MPI_ERR_IO 32
#define MPI_ERR_NAME 33
#define MPI_ERR_NO_MEM 34
#define MPI_ERR_NOT_SAME 35
#define MPI_ERR_NO_SPACE 36
#define MPI_ERR_NO_SUCH_FILE 37
#define MPI_ERR_PORT 38
#define MPI_ERR_QUOTA 39
#define MPI_ERR_READ_ONLY 40
#define MPI_ERR_SERVICE 41
#define MPI_ERR_SPAWN 42
#define MPI_ERR_UNSUPPORTED_DATAREP 43
#define MPI_ERR_UNSUPPORTED_OPERATION 44
#define MPI_ERR_WIN 45
#define MPI_ERR_BASE 46
#define MPI_ERR_LOCKTYPE 47
#define MPI_ERR_KEYVAL 48
#define MPI_ERR_RMA_CONFLICT 49
#define MPI_ERR_RMA_SYNC 50
#define MPI_ERR_SIZE 51
#define MPI_ERR_DISP 52
#define MPI_ERR_ASSERT 53
#define MPI_ERR_RMA_RANGE 55
#define MPI_ERR_RMA_ATTACH 56
#define MPI_ERR_RMA_SHARED 57
#define MPI_ERR_RMA_FLAVOR 58
#define MPI_ERR_LASTCODE 0x3fffffff

    /* Callback types. */
    typedef void(MPI_User_function)(void* invec,
                                    void* inoutvec,
                                    int* len,
                                    MPI_Datatype* datatype);
    typedef void(MPI_Comm_errhandler_function)(MPI_Comm*, int*, ...);
    typedef MPI_Comm_errhandler_function MPI_Comm_errhandler_fn;
    typedef MPI_Comm_errhandler_function MPI_Handler_function;
    typedef int(MPI_Comm_copy_attr_function)(MPI_Comm oldcomm,
                                             int keyval,
                                             void* extra_state,
                                             void* attribute_val_in,
                                             void* attribute_val_out,
                                             int* flag);
    typedef int(MPI_Comm_delete_attr_function)(MPI_Comm comm,
                                               int keyval,
                                               void* attribute_val,
                                               void* extra_state);
    typedef int(MPI_Type_copy_attr_function)(MPI_Datatype oldtype,
                                             int keyval,
                                             void* extra_state,
                                             void* attribute_val_in,
                                             void* attribute_val_out,
                                             int* flag);
    typedef int(MPI_Type_delete_attr_function)(MPI_Datatype type,
                                               int keyval,
                                               void* attribute_val,
                                               void* extra_state);
    typedef MPI_Comm_copy_attr_function MPI_Copy_function;
    typedef MPI_Comm_delete_attr_function MPI_Delete_function;

    int MPI_COMM_NULL_COPY_FN(MPI_Comm, int, void*, void*, void*, int*);
    int MPI_COMM_DUP_FN(MPI_Comm, int, void*, void*, void*, int*);
    int MPI_COMM_NULL_DELETE_FN(MPI_Comm, int, void*, void*);
    int MPI_TYPE_NULL_COPY_FN(MPI_Datatype, int, void*, void*, void*, int*);
    int MPI_TYPE_DUP_FN(MPI_Datatype, int, void*, void*, void*, int*);
    int MPI_TYPE_NULL_DELETE_FN(MPI_Datatype, int, void*, void*);
#define MPI_NULL_COPY_FN MPI_COMM_NULL_COPY_FN
#define MPI_DUP_FN MPI_COMM_DUP_FN
#define MPI_NULL_DELETE_FN MPI_COMM_NULL_DELETE_FN

    /* Environment. */
    int MPI_Init(int* argc, char*** argv);
    int MPI_Init_thread(int* argc, char*** argv, int required, int* provided);
    int MPI_Initialized(int* flag);
    int MPI_Finalize(void);
    int MPI_Finalized(int* flag);
    int MPI_Abort(MPI_Comm comm, int errorcode);
    int MPI_Query_thread(int* provided);
    int MPI_Is_thread_main(int* flag);
    double MPI_Wtime(void);
    double MPI_Wtick(void);
    int MPI_Get_processor_name(char* name, int* resultlen);
    int MPI_Get_version(int* version, int* subversion);
    int MPI_Get_library_version(char* version, int* resultlen);
    int MPI_Error_string(int errorcode, char* string, int* resultlen);
    int MPI_Error_class(int errorcode, int* errorclass);
    int MPI_Add_error_class(int* errorclass);
    int MPI_Add_error_code(int errorclass, int* errorcode);
    int MPI_Add_error_string(int errorcode, const char* string);
    int MPI_Comm_create_errhandler(MPI_Comm_errhandler_function* fn,
                                   MPI_Errhandler* errhandler);
    int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler);
    int MPI_Comm_get_errhandler(MPI_Comm comm, MPI_Errhandler* errhandler);
    int MPI_Comm_call_errhandler(MPI_Comm comm, int errorcode);
    int MPI_Errhandler_create(MPI_Handler_function* fn,
                              MPI_Errhandler* errhandler);
    int MPI_Errhandler_set(MPI_Comm comm, MPI_Errhandler errhandler);
    int MPI_Errhandler_get(MPI_Comm comm, MPI_Errhandler* errhandler);
    int MPI_Errhandler_free(MPI_Errhandler* errhandler);
    int MPI_Alloc_mem(MPI_Aint size, MPI_Info info, void* baseptr);
    int MPI_Free_mem(void* base);
    int MPI_Get_address(const void* location, MPI_Aint* address);
    int MPI_Address(void* location, MPI_Aint* address);
    MPI_Aint MPI_Aint_add(MPI_Aint base, MPI_Aint disp);
    MPI_Aint MPI_Aint_diff(MPI_Aint addr1, MPI_Aint addr2);
    int MPI_Pcontrol(const int level, ...);

    /* Info objects. */
    int MPI_Info_create(MPI_Info* info);
    int MPI_Info_free(MPI_Info* info);
    int MPI_Info_set(MPI_Info info, const char* key, const char* value);
    int MPI_Info_get(MPI_Info info,
                     const char* key,
                     int valuelen,
                     char* value,
                     int* flag);
    int MPI_Info_get_valuelen(MPI_Info info,
                              const char* key,
                              int* valuelen,
                              int* flag);
    int MPI_Info_delete(MPI_Info info, const char* key);
    int MPI_Info_get_nkeys(MPI_Info info, int* nkeys);
    int MPI_Info_get_nthkey(MPI_Info info, int n, char* key);
    int MPI_Info_dup(MPI_Info info, MPI_Info* newinfo);

    /* Point to point. */
    int MPI_Send(const void* buf,
                 int count,
                 MPI_Datatype datatype,
                 int dest,
                 int tag,
                 MPI_Comm comm);
    int MPI_Bsend(const void* buf,
                  int count,
                  MPI_Datatype datatype,
                  int dest,
                  int tag,
                  MPI_Comm comm);
    int MPI_Ssend(const void* buf,
                  int count,
                  MPI_Datatype datatype,
                  int dest,
                  int tag,
                  MPI_Comm comm);
    int MPI_Rsend(const void* buf,
                  int count,
                  MPI_Datatype datatype,
                  int dest,
                  int tag,
                  MPI_Comm comm);
    int MPI_Recv(void* buf,
                 int count,
                 MPI_Datatype datatype,
                 int source,
                 int tag,
                 MPI_Comm comm,
                 MPI_Status* status);
    int MPI_Isend(const void* buf,
                  int count,
                  MPI_Datatype datatype,
                  int dest,
                  int tag,
                  MPI_Comm comm,
                  MPI_Request* request);
    int MPI_Ibsend(const void* buf,
                   int count,
                   MPI_Datatype datatype,
                   int dest,
                   int tag,
                   MPI_Comm comm,
                   MPI_Request* request);
    int MPI_Issend(const void* buf,
                   int count,
                   MPI_Datatype datatype,
                   int dest,
                   int tag,
                   MPI_Comm comm,
                   MPI_Request* request);
    int MPI_Irsend(const void* buf,
                   int count,
                   MPI_Datatype datatype,
                   int dest,
                   int tag,
                   MPI_Comm comm,
                   MPI_Request* request);
    int MPI_Irecv(void* buf,
                  int count,
                  MPI_Datatype datatype,
                  int source,
                  int tag,
                  MPI_Comm comm,
                  MPI_Request* request);
    int MPI_Send_init(const void* buf,
                      int count,
                      MPI_Datatype datatype,
                      int dest,
                      int tag,
                      MPI_Comm comm,
                      MPI_Request* request);
    int MPI_Bsend_init(const void* buf,
                       int count,
                       MPI_Datatype datatype,
                       int dest,
                       int tag,
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Ssend_init(const void* buf,
                       int count,
                       MPI_Datatype datatype,
                       int dest,
                       int tag,
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Rsend_init(const void* buf,
                       int count,
                       MPI_Datatype datatype,
                       int dest,
                       int tag,
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Recv_init(void* buf,
                      int count,
                      MPI_Datatype datatype,
                      int source,
                      int tag,
                      MPI_Comm comm,
                      MPI_Request* request);
    int MPI_Start(MPI_Request* request);
    int MPI_Startall(int count, MPI_Request array_of_requests[]);
    int MPI_Wait(MPI_Request* request, MPI_Status* status);
    int MPI_Waitall(int count,
                    MPI_Request array_of_requests[],
                    MPI_Status array_of_statuses[]);
    int MPI_Waitany(int count,
                    MPI_Request array_of_requests[],
                    int* index,
                    MPI_Status* status);
    int MPI_Waitsome(int incount,
                     MPI_Request array_of_requests[],
                     int* outcount,
                     int array_of_indices[],
                     MPI_Status array_of_statuses[]);
    int MPI_Test(MPI_Request* request, int* flag, MPI_Status* status);
    int MPI_Testall(int count,
                    MPI_Request array_of_requests[],
                    int* flag,
                    MPI_Status array_of_statuses[]);
    int MPI_Testany(int count,
                    MPI_Request array_of_requests[],
                    int* index,
                    int* flag,
                    MPI_Status* status);
    int MPI_Testsome(int incount,
                     MPI_Request array_of_requests[],
                     int* outcount,
                     int array_of_indices[],
                     MPI_Status array_of_statuses[]);
    int MPI_Request_free(MPI_Request* request);
    int MPI_Request_get_status(MPI_Request request,
                               int* flag,
                               MPI_Status* status);
    int MPI_Cancel(MPI_Request* request);
    int MPI_Test_cancelled(const MPI_Status* status, int* flag);
    int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status* status);
    int MPI_Iprobe(int source,
                   int tag,
                   MPI_Comm comm,
                   int* flag,
                   MPI_Status* status);
    int MPI_Mprobe(int source,
                   int tag,
                   MPI_Comm comm,
                   MPI_Message* message,
                   MPI_Status* status);
    int MPI_Improbe(int source,
                    int tag,
                    MPI_Comm comm,
                    int* flag,
                    MPI_Message* message,
                    MPI_Status* status);
    int MPI_Mrecv(void* buf,
                  int count,
                  MPI_Datatype datatype,
                  MPI_Message* message,
                  MPI_Status* status);
    int MPI_Imrecv(void* buf,
                   int count,
                   MPI_Datatype datatype,
                   MPI_Message* message,
                   MPI_Request* request);
    int MPI_Sendrecv(const void* sendbuf,
                     int sendcount,
                     MPI_Datatype sendtype,
                     int dest,
                     int sendtag,
                     void* recvbuf,
                     int recvcount,
                     MPI_Datatype recvtype,
                     int source,
                     int recvtag,
                     MPI_Comm comm,
                     MPI_Status* status);
    int MPI_Sendrecv_replace(void* buf,
                             int count,
                             MPI_Datatype datatype,
                             int dest,
                             int sendtag,
                             int source,
                             int recvtag,
                             MPI_Comm comm,
                             MPI_Status* status);
    int MPI_Isendrecv(const void* sendbuf,
                      int sendcount,
                      MPI_Datatype sendtype,
                      int dest,
                      int sendtag,
                      void* recvbuf,
                      int recvcount,
                      MPI_Datatype recvtype,
                      int source,
                      int recvtag,
                      MPI_Comm comm,
                      MPI_Request* request);
    int MPI_Isendrecv_replace(void* buf,
                              int count,
                              MPI_Datatype datatype,
                              int dest,
                              int sendtag,
                              int source,
                              int recvtag,
                              MPI_Comm comm,
                              MPI_Request* request);
    MPI_Fint MPI_Message_c2f(MPI_Message message);
    MPI_Message MPI_Message_f2c(MPI_Fint message);
    MPI_Fint PMPI_Message_c2f(MPI_Message message);
    MPI_Message PMPI_Message_f2c(MPI_Fint message);
    int MPI_Get_count(const MPI_Status* status,
                      MPI_Datatype datatype,
                      int* count);
    int MPI_Get_elements(const MPI_Status* status,
                         MPI_Datatype datatype,
                         int* count);
    int MPI_Get_elements_x(const MPI_Status* status,
                           MPI_Datatype datatype,
                           MPI_Count* count);
    int MPI_Status_set_elements(MPI_Status* status,
                                MPI_Datatype datatype,
                                int count);
    int MPI_Status_set_elements_x(MPI_Status* status,
                                  MPI_Datatype datatype,
                                  MPI_Count count);
    int MPI_Status_set_cancelled(MPI_Status* status, int flag);
    int MPI_Buffer_attach(void* buffer, int size);
    int MPI_Buffer_detach(void* buffer_addr, int* size);

    /* Datatypes. */
    int MPI_Type_contiguous(int count,
                            MPI_Datatype oldtype,
                            MPI_Datatype* newtype);
    int MPI_Type_vector(int count,
                        int blocklength,
                        int stride,
                        MPI_Datatype oldtype,
                        MPI_Datatype* newtype);
    int MPI_Type_hvector(int count,
                         int blocklength,
                         MPI_Aint stride,
                         MPI_Datatype oldtype,
                         MPI_Datatype* newtype);
    int MPI_Type_create_hvector(int count,
                                int blocklength,
                                MPI_Aint stride,
                                MPI_Datatype oldtype,
                                MPI_Datatype* newtype);
    int MPI_Type_indexed(int count,
                         const int array_of_blocklengths[],
                         const int array_of_displacements[],
                         MPI_Datatype oldtype,
                         MPI_Datatype* newtype);
    int MPI_Type_hindexed(int count,
                          const int array_of_blocklengths[],
                          const MPI_Aint array_of_displacements[],
                          MPI_Datatype oldtype,
                          MPI_Datatype* newtype);
    int MPI_Type_create_hindexed(int count,
                                 const int array_of_blocklengths[],
                                 const MPI_Aint array_of_displacements[],
                                 MPI_Datatype oldtype,
                                 MPI_Datatype* newtype);
    int MPI_Type_create_indexed_block(int count,
                                      int blocklength,
                                      const int array_of_displacements[],
                                      MPI_Datatype oldtype,
                                      MPI_Datatype* newtype);
    int MPI_Type_create_hindexed_block(int count,
                                       int blocklength,
                                       const MPI_Aint array_of_displacements[],
                                       MPI_Datatype oldtype,
                                       MPI_Datatype* newtype);
    int MPI_Type_struct(int count,
                        int array_of_blocklengths[],
                        MPI_Aint array_of_displacements[],
                        MPI_Datatype array_of_types[],
                        MPI_Datatype* newtype);
    int MPI_Type_create_struct(int count,
                               const int array_of_blocklengths[],
                               const MPI_Aint array_of_displacements[],
                               const MPI_Datatype array_of_types[],
                               MPI_Datatype* newtype);
    int MPI_Type_create_subarray(int ndims,
                                 const int array_of_sizes[],
                                 const int array_of_subsizes[],
                                 const int array_of_starts[],
                                 int order,
                                 MPI_Datatype oldtype,
                                 MPI_Datatype* newtype);
    int MPI_Type_create_resized(MPI_Datatype oldtype,
                                MPI_Aint lb,
                                MPI_Aint extent,
                                MPI_Datatype* newtype);
    int MPI_Type_dup(MPI_Datatype oldtype, MPI_Datatype* newtype);
    int MPI_Type_commit(MPI_Datatype* datatype);
    int MPI_Type_free(MPI_Datatype* datatype);
    int MPI_Type_size(MPI_Datatype datatype, int* size);
    int MPI_Type_size_x(MPI_Datatype datatype, MPI_Count* size);
    int MPI_Type_extent(MPI_Datatype datatype, MPI_Aint* extent);
    int MPI_Type_lb(MPI_Datatype datatype, MPI_Aint* displacement);
    int MPI_Type_ub(MPI_Datatype datatype, MPI_Aint* displacement);
    int MPI_Type_get_extent(MPI_Datatype datatype,
                            MPI_Aint* lb,
                            MPI_Aint* extent);
    int MPI_Type_get_extent_x(MPI_Datatype datatype,
                              MPI_Count* lb,
                              MPI_Count* extent);
    int MPI_Type_get_true_extent(MPI_Datatype datatype,
                                 MPI_Aint* true_lb,
                                 MPI_Aint* true_extent);
    int MPI_Type_get_true_extent_x(MPI_Datatype datatype,
                                   MPI_Count* true_lb,
                                   MPI_Count* true_extent);
    int MPI_Type_get_envelope(MPI_Datatype datatype,
                              int* num_integers,
                              int* num_addresses,
                              int* num_datatypes,
                              int* combiner);
    int MPI_Type_get_contents(MPI_Datatype datatype,
                              int max_integers,
                              int max_addresses,
                              int max_datatypes,
                              int array_of_integers[],
                              MPI_Aint array_of_addresses[],
                              MPI_Datatype array_of_datatypes[]);
    int MPI_Type_set_name(MPI_Datatype datatype, const char* type_name);
    int MPI_Type_get_name(MPI_Datatype datatype,
                          char* type_name,
                          int* resultlen);
    int MPI_Type_match_size(int typeclass, int size, MPI_Datatype* datatype);
    int MPI_Pack(const void* inbuf,
                 int incount,
                 MPI_Datatype datatype,
                 void* outbuf,
                 int outsize,
                 int* position,
                 MPI_Comm comm);
    int MPI_Unpack(const void* inbuf,
                   int insize,
                   int* position,
                   void* outbuf,
                   int outcount,
                   MPI_Datatype datatype,
                   MPI_Comm comm);
    int MPI_Pack_size(int incount,
                      MPI_Datatype datatype,
                      MPI_Comm comm,
                      int* size);
#define MPI_TYPECLASS_REAL 1
#define MPI_TYPECLASS_INTEGER 2
#define MPI_TYPECLASS_COMPLEX 3

    /* Operations. */
    int MPI_Op_create(MPI_User_function* user_fn, int commute, MPI_Op* op);
    int MPI_Op_free(MPI_Op* op);
    int MPI_Op_commutative(MPI_Op op, int* commute);
    int MPI_Reduce_local(const void* inbuf,
                         void* inoutbuf,
                         int count,
                         MPI_Datatype datatype,
                         MPI_Op op);

    /* Collectives. */
    int MPI_Barrier(MPI_Comm comm);
    int MPI_Bcast(void* buffer,
                  int count,
                  MPI_Datatype datatype,
                  int root,
                  MPI_Comm comm);
    int MPI_Gather(const void* sendbuf,
                   int sendcount,
                   MPI_Datatype sendtype,
                   void* recvbuf,
                   int recvcount,
                   MPI_Datatype recvtype,
                   int root,
                   MPI_Comm comm);
    int MPI_Gatherv(const void* sendbuf,
                    int sendcount,
                    MPI_Datatype sendtype,
                    void* recvbuf,
                    const int recvcounts[],
                    const int displs[],
                    MPI_Datatype recvtype,
                    int root,
                    MPI_Comm comm);
    int MPI_Scatter(const void* sendbuf,
                    int sendcount,
                    MPI_Datatype sendtype,
                    void* recvbuf,
                    int recvcount,
                    MPI_Datatype recvtype,
                    int root,
                    MPI_Comm comm);
    int MPI_Scatterv(const void* sendbuf,
                     const int sendcounts[],
                     const int displs[],
                     MPI_Datatype sendtype,
                     void* recvbuf,
                     int recvcount,
                     MPI_Datatype recvtype,
                     int root,
                     MPI_Comm comm);
    int MPI_Allgather(const void* sendbuf,
                      int sendcount,
                      MPI_Datatype sendtype,
                      void* recvbuf,
                      int recvcount,
                      MPI_Datatype recvtype,
                      MPI_Comm comm);
    int MPI_Allgatherv(const void* sendbuf,
                       int sendcount,
                       MPI_Datatype sendtype,
                       void* recvbuf,
                       const int recvcounts[],
                       const int displs[],
                       MPI_Datatype recvtype,
                       MPI_Comm comm);
    int MPI_Alltoall(const void* sendbuf,
                     int sendcount,
                     MPI_Datatype sendtype,
                     void* recvbuf,
                     int recvcount,
                     MPI_Datatype recvtype,
                     MPI_Comm comm);
    int MPI_Alltoallv(const void* sendbuf,
                      const int sendcounts[],
                      const int sdispls[],
                      MPI_Datatype sendtype,
                      void* recvbuf,
                      const int recvcounts[],
                      const int rdispls[],
                      MPI_Datatype recvtype,
                      MPI_Comm comm);
    /* Large-count form (MPI-4); counts and displacements must fit an int
     * here (else MPI_ERR_COUNT). */
    int MPI_Alltoallv_c(const void* sendbuf,
                        const MPI_Count sendcounts[],
                        const MPI_Aint sdispls[],
                        MPI_Datatype sendtype,
                        void* recvbuf,
                        const MPI_Count recvcounts[],
                        const MPI_Aint rdispls[],
                        MPI_Datatype recvtype,
                        MPI_Comm comm);
    int MPI_Alltoallw(const void* sendbuf,
                      const int sendcounts[],
                      const int sdispls[],
                      const MPI_Datatype sendtypes[],
                      void* recvbuf,
                      const int recvcounts[],
                      const int rdispls[],
                      const MPI_Datatype recvtypes[],
                      MPI_Comm comm);
    int MPI_Reduce(const void* sendbuf,
                   void* recvbuf,
                   int count,
                   MPI_Datatype datatype,
                   MPI_Op op,
                   int root,
                   MPI_Comm comm);
    int MPI_Allreduce(const void* sendbuf,
                      void* recvbuf,
                      int count,
                      MPI_Datatype datatype,
                      MPI_Op op,
                      MPI_Comm comm);
    int MPI_Reduce_scatter(const void* sendbuf,
                           void* recvbuf,
                           const int recvcounts[],
                           MPI_Datatype datatype,
                           MPI_Op op,
                           MPI_Comm comm);
    int MPI_Reduce_scatter_block(const void* sendbuf,
                                 void* recvbuf,
                                 int recvcount,
                                 MPI_Datatype datatype,
                                 MPI_Op op,
                                 MPI_Comm comm);
    int MPI_Scan(const void* sendbuf,
                 void* recvbuf,
                 int count,
                 MPI_Datatype datatype,
                 MPI_Op op,
                 MPI_Comm comm);
    int MPI_Exscan(const void* sendbuf,
                   void* recvbuf,
                   int count,
                   MPI_Datatype datatype,
                   MPI_Op op,
                   MPI_Comm comm);

    /* Non-blocking collectives (complete inside the call: docs/mpi.md). */
    int MPI_Ibarrier(MPI_Comm comm, MPI_Request* request);
    int MPI_Ibcast(void* buffer,
                   int count,
                   MPI_Datatype datatype,
                   int root,
                   MPI_Comm comm,
                   MPI_Request* request);
    int MPI_Igather(const void* sendbuf,
                    int sendcount,
                    MPI_Datatype sendtype,
                    void* recvbuf,
                    int recvcount,
                    MPI_Datatype recvtype,
                    int root,
                    MPI_Comm comm,
                    MPI_Request* request);
    int MPI_Igatherv(const void* sendbuf,
                     int sendcount,
                     MPI_Datatype sendtype,
                     void* recvbuf,
                     const int recvcounts[],
                     const int displs[],
                     MPI_Datatype recvtype,
                     int root,
                     MPI_Comm comm,
                     MPI_Request* request);
    int MPI_Iscatter(const void* sendbuf,
                     int sendcount,
                     MPI_Datatype sendtype,
                     void* recvbuf,
                     int recvcount,
                     MPI_Datatype recvtype,
                     int root,
                     MPI_Comm comm,
                     MPI_Request* request);
    int MPI_Iscatterv(const void* sendbuf,
                      const int sendcounts[],
                      const int displs[],
                      MPI_Datatype sendtype,
                      void* recvbuf,
                      int recvcount,
                      MPI_Datatype recvtype,
                      int root,
                      MPI_Comm comm,
                      MPI_Request* request);
    int MPI_Iallgather(const void* sendbuf,
                       int sendcount,
                       MPI_Datatype sendtype,
                       void* recvbuf,
                       int recvcount,
                       MPI_Datatype recvtype,
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Iallgatherv(const void* sendbuf,
                        int sendcount,
                        MPI_Datatype sendtype,
                        void* recvbuf,
                        const int recvcounts[],
                        const int displs[],
                        MPI_Datatype recvtype,
                        MPI_Comm comm,
                        MPI_Request* request);
    int MPI_Ialltoall(const void* sendbuf,
                      int sendcount,
                      MPI_Datatype sendtype,
                      void* recvbuf,
                      int recvcount,
                      MPI_Datatype recvtype,
                      MPI_Comm comm,
                      MPI_Request* request);
    int MPI_Ialltoallv(const void* sendbuf,
                       const int sendcounts[],
                       const int sdispls[],
                       MPI_Datatype sendtype,
                       void* recvbuf,
                       const int recvcounts[],
                       const int rdispls[],
                       MPI_Datatype recvtype,
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Ialltoallw(const void* sendbuf,
                       const int sendcounts[],
                       const int sdispls[],
                       const MPI_Datatype sendtypes[],
                       void* recvbuf,
                       const int recvcounts[],
                       const int rdispls[],
                       const MPI_Datatype recvtypes[],
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Ireduce(const void* sendbuf,
                    void* recvbuf,
                    int count,
                    MPI_Datatype datatype,
                    MPI_Op op,
                    int root,
                    MPI_Comm comm,
                    MPI_Request* request);
    int MPI_Iallreduce(const void* sendbuf,
                       void* recvbuf,
                       int count,
                       MPI_Datatype datatype,
                       MPI_Op op,
                       MPI_Comm comm,
                       MPI_Request* request);
    int MPI_Ireduce_scatter(const void* sendbuf,
                            void* recvbuf,
                            const int recvcounts[],
                            MPI_Datatype datatype,
                            MPI_Op op,
                            MPI_Comm comm,
                            MPI_Request* request);
    int MPI_Ireduce_scatter_block(const void* sendbuf,
                                  void* recvbuf,
                                  int recvcount,
                                  MPI_Datatype datatype,
                                  MPI_Op op,
                                  MPI_Comm comm,
                                  MPI_Request* request);
    int MPI_Iscan(const void* sendbuf,
                  void* recvbuf,
                  int count,
                  MPI_Datatype datatype,
                  MPI_Op op,
                  MPI_Comm comm,
                  MPI_Request* request);
    int MPI_Iexscan(const void* sendbuf,
                    void* recvbuf,
                    int count,
                    MPI_Datatype datatype,
                    MPI_Op op,
                    MPI_Comm comm,
                    MPI_Request* request);

    /* MPI-4 persistent collectives (argument lists run by MPI_Start). */
    int MPI_Barrier_init(MPI_Comm comm, MPI_Info info, MPI_Request* request);
    int MPI_Bcast_init(void* buffer,
                       int count,
                       MPI_Datatype datatype,
                       int root,
                       MPI_Comm comm,
                       MPI_Info info,
                       MPI_Request* request);
    int MPI_Reduce_init(const void* sendbuf,
                        void* recvbuf,
                        int count,
                        MPI_Datatype datatype,
                        MPI_Op op,
                        int root,
                        MPI_Comm comm,
                        MPI_Info info,
                        MPI_Request* request);
    int MPI_Allreduce_init(const void* sendbuf,
                           void* recvbuf,
                           int count,
                           MPI_Datatype datatype,
                           MPI_Op op,
                           MPI_Comm comm,
                           MPI_Info info,
                           MPI_Request* request);
    int MPI_Gather_init(const void* sendbuf,
                        int sendcount,
                        MPI_Datatype sendtype,
                        void* recvbuf,
                        int recvcount,
                        MPI_Datatype recvtype,
                        int root,
                        MPI_Comm comm,
                        MPI_Info info,
                        MPI_Request* request);
    int MPI_Scatter_init(const void* sendbuf,
                         int sendcount,
                         MPI_Datatype sendtype,
                         void* recvbuf,
                         int recvcount,
                         MPI_Datatype recvtype,
                         int root,
                         MPI_Comm comm,
                         MPI_Info info,
                         MPI_Request* request);
    int MPI_Allgather_init(const void* sendbuf,
                           int sendcount,
                           MPI_Datatype sendtype,
                           void* recvbuf,
                           int recvcount,
                           MPI_Datatype recvtype,
                           MPI_Comm comm,
                           MPI_Info info,
                           MPI_Request* request);
    int MPI_Alltoall_init(const void* sendbuf,
                          int sendcount,
                          MPI_Datatype sendtype,
                          void* recvbuf,
                          int recvcount,
                          MPI_Datatype recvtype,
                          MPI_Comm comm,
                          MPI_Info info,
                          MPI_Request* request);
    int MPI_Scan_init(const void* sendbuf,
                      void* recvbuf,
                      int count,
                      MPI_Datatype datatype,
                      MPI_Op op,
                      MPI_Comm comm,
                      MPI_Info info,
                      MPI_Request* request);
    int MPI_Exscan_init(const void* sendbuf,
                        void* recvbuf,
                        int count,
                        MPI_Datatype datatype,
                        MPI_Op op,
                        MPI_Comm comm,
                        MPI_Info info,
                        MPI_Request* request);
    int MPI_Reduce_scatter_block_init(const void* sendbuf,
                                      void* recvbuf,
                                      int recvcount,
                                      MPI_Datatype datatype,
                                      MPI_Op op,
                                      MPI_Comm comm,
                                      MPI_Info info,
                                      MPI_Request* request);
    int MPI_Reduce_scatter_init(const void* sendbuf,
                                void* recvbuf,
                                const int recvcounts[],
                                MPI_Datatype datatype,
                                MPI_Op op,
                                MPI_Comm comm,
                                MPI_Info info,
                                MPI_Request* request);
    int MPI_Gatherv_init(const void* sendbuf,
                         int sendcount,
                         MPI_Datatype sendtype,
                         void* recvbuf,
                         const int recvcounts[],
                         const int displs[],
                         MPI_Datatype recvtype,
                         int root,
                         MPI_Comm comm,
                         MPI_Info info,
                         MPI_Request* request);
    int MPI_Scatterv_init(const void* sendbuf,
                          const int sendcounts[],
                          const int displs[],
                          MPI_Datatype sendtype,
                          void* recvbuf,
                          int recvcount,
                          MPI_Datatype recvtype,
                          int root,
                          MPI_Comm comm,
                          MPI_Info info,
                          MPI_Request* request);
    int MPI_Allgatherv_init(const void* sendbuf,
                            int sendcount,
                            MPI_Datatype sendtype,
                            void* recvbuf,
                            const int recvcounts[],
                            const int displs[],
                            MPI_Datatype recvtype,
                            MPI_Comm comm,
                            MPI_Info info,
                            MPI_Request* request);
    int MPI_Alltoallv_init(const void* sendbuf,
                           const int sendcounts[],
                           const int sdispls[],
                           MPI_Datatype sendtype,
                           void* recvbuf,
                           const int recvcounts[],
                           const int rdispls[],
                           MPI_Datatype recvtype,
                           MPI_Comm comm,
                           MPI_Info info,
                           MPI_Request* request);
    int MPI_Alltoallw_init(const void* sendbuf,
                           const int sendcounts[],
                           const int sdispls[],
                           const MPI_Datatype sendtypes[],
                           void* recvbuf,
                           const int recvcounts[],
                           const int rdispls[],
                           const MPI_Datatype recvtypes[],
                           MPI_Comm comm,
                           MPI_Info info,
                           MPI_Request* request);

    /* Groups. */
    int MPI_Group_size(MPI_Group group, int* size);
    int MPI_Group_rank(MPI_Group group, int* rank);
    int MPI_Group_translate_ranks(MPI_Group group1,
                                  int n,
                                  const int ranks1[],
                                  MPI_Group group2,
                                  int ranks2[]);
    int MPI_Group_compare(MPI_Group group1, MPI_Group group2, int* result);
    int MPI_Group_union(MPI_Group group1,
                        MPI_Group group2,
                        MPI_Group* newgroup);
    int MPI_Group_intersection(MPI_Group group1,
                               MPI_Group group2,
                               MPI_Group* newgroup);
    int MPI_Group_difference(MPI_Group group1,
                             MPI_Group group2,
                             MPI_Group* newgroup);
    int MPI_Group_incl(MPI_Group group,
                       int n,
                       const int ranks[],
                       MPI_Group* newgroup);
    int MPI_Group_excl(MPI_Group group,
                       int n,
                       const int ranks[],
                       MPI_Group* newgroup);
    int MPI_Group_range_incl(MPI_Group group,
                             int n,
                             int ranges[][3],
                             MPI_Group* newgroup);
    int MPI_Group_range_excl(MPI_Group group,
                             int n,
                             int ranges[][3],
                             MPI_Group* newgroup);
    int MPI_Group_free(MPI_Group* group);

    /* Communicators. */
    int MPI_Comm_size(MPI_Comm comm, int* size);
    int MPI_Comm_rank(MPI_Comm comm, int* rank);
    int MPI_Comm_compare(MPI_Comm comm1, MPI_Comm comm2, int* result);
    int MPI_Comm_dup(MPI_Comm comm, MPI_Comm* newcomm);
    int MPI_Comm_dup_with_info(MPI_Comm comm, MPI_Info info, MPI_Comm* newcomm);
    int MPI_Comm_idup(MPI_Comm comm, MPI_Comm* newcomm, MPI_Request* request);
    int MPI_Comm_create(MPI_Comm comm, MPI_Group group, MPI_Comm* newcomm);
    int MPI_Comm_create_group(MPI_Comm comm,
                              MPI_Group group,
                              int tag,
                              MPI_Comm* newcomm);
    int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm* newcomm);
    int MPI_Comm_split_type(MPI_Comm comm,
                            int split_type,
                            int key,
                            MPI_Info info,
                            MPI_Comm* newcomm);
    int MPI_Comm_free(MPI_Comm* comm);
    int MPI_Comm_group(MPI_Comm comm, MPI_Group* group);
    int MPI_Comm_test_inter(MPI_Comm comm, int* flag);
    int MPI_Comm_remote_size(MPI_Comm comm, int* size);
    int MPI_Comm_remote_group(MPI_Comm comm, MPI_Group* group);
    int MPI_Intercomm_create(MPI_Comm local_comm,
                             int local_leader,
                             MPI_Comm peer_comm,
                             int remote_leader,
                             int tag,
                             MPI_Comm* newintercomm);
    int MPI_Intercomm_merge(MPI_Comm intercomm,
                            int high,
                            MPI_Comm* newintracomm);
    int MPI_Comm_set_name(MPI_Comm comm, const char* comm_name);
    int MPI_Comm_get_name(MPI_Comm comm, char* comm_name, int* resultlen);
    int MPI_Comm_set_info(MPI_Comm comm, MPI_Info info);
    int MPI_Comm_get_info(MPI_Comm comm, MPI_Info* info);

    /* Attributes. */
    int MPI_Comm_create_keyval(MPI_Comm_copy_attr_function* copy_fn,
                               MPI_Comm_delete_attr_function* delete_fn,
                               int* keyval,
                               void* extra_state);
    int MPI_Comm_free_keyval(int* keyval);
    int MPI_Comm_set_attr(MPI_Comm comm, int keyval, void* attribute_val);
    int MPI_Comm_get_attr(MPI_Comm comm,
                          int keyval,
                          void* attribute_val,
                          int* flag);
    int MPI_Comm_delete_attr(MPI_Comm comm, int keyval);
    int MPI_Keyval_create(MPI_Copy_function* copy_fn,
                          MPI_Delete_function* delete_fn,
                          int* keyval,
                          void* extra_state);
    int MPI_Keyval_free(int* keyval);
    int MPI_Attr_put(MPI_Comm comm, int keyval, void* attribute_val);
    int MPI_Attr_get(MPI_Comm comm, int keyval, void* attribute_val, int* flag);
    int MPI_Attr_delete(MPI_Comm comm, int keyval);
    int MPI_Type_create_keyval(MPI_Type_copy_attr_function* copy_fn,
                               MPI_Type_delete_attr_function* delete_fn,
                               int* keyval,
                               void* extra_state);
    int MPI_Type_free_keyval(int* keyval);
    int MPI_Type_set_attr(MPI_Datatype type, int keyval, void* attribute_val);
    int MPI_Type_get_attr(MPI_Datatype type,
                          int keyval,
                          void* attribute_val,
                          int* flag);
    int MPI_Type_delete_attr(MPI_Datatype type, int keyval);

    /* Topologies. */
    int MPI_Dims_create(int nnodes, int ndims, int dims[]);
    int MPI_Cart_create(MPI_Comm comm_old,
                        int ndims,
                        const int dims[],
                        const int periods[],
                        int reorder,
                        MPI_Comm* comm_cart);
    int MPI_Cart_coords(MPI_Comm comm, int rank, int maxdims, int coords[]);
    int MPI_Cart_rank(MPI_Comm comm, const int coords[], int* rank);
    int MPI_Cart_shift(MPI_Comm comm,
                       int direction,
                       int disp,
                       int* rank_source,
                       int* rank_dest);
    int MPI_Cart_sub(MPI_Comm comm, const int remain_dims[], MPI_Comm* newcomm);
    int MPI_Cartdim_get(MPI_Comm comm, int* ndims);
    int MPI_Cart_get(MPI_Comm comm,
                     int maxdims,
                     int dims[],
                     int periods[],
                     int coords[]);
    int MPI_Cart_map(MPI_Comm comm,
                     int ndims,
                     const int dims[],
                     const int periods[],
                     int* newrank);
    int MPI_Topo_test(MPI_Comm comm, int* status);
    int MPI_Graph_create(MPI_Comm comm_old,
                         int nnodes,
                         const int index[],
                         const int edges[],
                         int reorder,
                         MPI_Comm* comm_graph);
    int MPI_Graphdims_get(MPI_Comm comm, int* nnodes, int* nedges);
    int MPI_Graph_get(MPI_Comm comm,
                      int maxindex,
                      int maxedges,
                      int index[],
                      int edges[]);
    int MPI_Graph_neighbors_count(MPI_Comm comm, int rank, int* nneighbors);
    int MPI_Graph_neighbors(MPI_Comm comm,
                            int rank,
                            int maxneighbors,
                            int neighbors[]);
    int MPI_Graph_map(MPI_Comm comm,
                      int nnodes,
                      const int index[],
                      const int edges[],
                      int* newrank);
    int MPI_Dist_graph_create_adjacent(MPI_Comm comm_old,
                                       int indegree,
                                       const int sources[],
                                       const int sourceweights[],
                                       int outdegree,
                                       const int destinations[],
                                       const int destweights[],
                                       MPI_Info info,
                                       int reorder,
                                       MPI_Comm* comm_dist_graph);
    int MPI_Dist_graph_create(MPI_Comm comm_old,
                              int n,
                              const int sources[],
                              const int degrees[],
                              const int destinations[],
                              const int weights[],
                              MPI_Info info,
                              int reorder,
                              MPI_Comm* comm_dist_graph);
    int MPI_Dist_graph_neighbors_count(MPI_Comm comm,
                                       int* indegree,
                                       int* outdegree,
                                       int* weighted);
    int MPI_Dist_graph_neighbors(MPI_Comm comm,
                                 int maxindegree,
                                 int sources[],
                                 int sourceweights[],
                                 int maxoutdegree,
                                 int destinations[],
                                 int destweights[]);
    int MPI_Neighbor_allgather(const void* sendbuf,
                               int sendcount,
                               MPI_Datatype sendtype,
                               void* recvbuf,
                               int recvcount,
                               MPI_Datatype recvtype,
                               MPI_Comm comm);
    int MPI_Neighbor_allgatherv(const void* sendbuf,
                                int sendcount,
                                MPI_Datatype sendtype,
                                void* recvbuf,
                                const int recvcounts[],
                                const int displs[],
                                MPI_Datatype recvtype,
                                MPI_Comm comm);
    int MPI_Neighbor_alltoall(const void* sendbuf,
                              int sendcount,
                              MPI_Datatype sendtype,
                              void* recvbuf,
                              int recvcount,
                              MPI_Datatype recvtype,
                              MPI_Comm comm);
    int MPI_Neighbor_alltoallv(const void* sendbuf,
                               const int sendcounts[],
                               const int sdispls[],
                               MPI_Datatype sendtype,
                               void* recvbuf,
                               const int recvcounts[],
                               const int rdispls[],
                               MPI_Datatype recvtype,
                               MPI_Comm comm);

    int MPI_Neighbor_alltoallw(const void* sendbuf,
                               const int sendcounts[],
                               const MPI_Aint sdispls[],
                               const MPI_Datatype sendtypes[],
                               void* recvbuf,
                               const int recvcounts[],
                               const MPI_Aint rdispls[],
                               const MPI_Datatype recvtypes[],
                               MPI_Comm comm);
    int MPI_Ineighbor_allgather(const void* sendbuf,
                                int sendcount,
                                MPI_Datatype sendtype,
                                void* recvbuf,
                                int recvcount,
                                MPI_Datatype recvtype,
                                MPI_Comm comm,
                                MPI_Request* request);
    int MPI_Ineighbor_allgatherv(const void* sendbuf,
                                 int sendcount,
                                 MPI_Datatype sendtype,
                                 void* recvbuf,
                                 const int recvcounts[],
                                 const int displs[],
                                 MPI_Datatype recvtype,
                                 MPI_Comm comm,
                                 MPI_Request* request);
    int MPI_Ineighbor_alltoall(const void* sendbuf,
                               int sendcount,
                               MPI_Datatype sendtype,
                               void* recvbuf,
                               int recvcount,
                               MPI_Datatype recvtype,
                               MPI_Comm comm,
                               MPI_Request* request);
    int MPI_Ineighbor_alltoallv(const void* sendbuf,
                                const int sendcounts[],
                                const int sdispls[],
                                MPI_Datatype sendtype,
                                void* recvbuf,
                                const int recvcounts[],
                                const int rdispls[],
                                MPI_Datatype recvtype,
                                MPI_Comm comm,
                                MPI_Request* request);
    int MPI_Ineighbor_alltoallw(const void* sendbuf,
                                const int sendcounts[],
                                const MPI_Aint sdispls[],
                                const MPI_Datatype sendtypes[],
                                void* recvbuf,
                                const int recvcounts[],
                                const MPI_Aint rdispls[],
                                const MPI_Datatype recvtypes[],
                                MPI_Comm comm,
                                MPI_Request* request);

    /* One-sided communication: declared, NOT provided (link error). */
    int MPI_Win_create(void* base,
                       MPI_Aint size,
                       int disp_unit,
                       MPI_Info info,
                       MPI_Comm comm,
                       MPI_Win* win);
    int MPI_Win_allocate(MPI_Aint size,
                         int disp_unit,
                         MPI_Info info,
                         MPI_Comm comm,
                         void* baseptr,
                         MPI_Win* win);
    int MPI_Win_free(MPI_Win* win);
    int MPI_Win_get_attr(MPI_Win win,
                         int keyval,
                         void* attribute_val,
                         int* flag);
    int MPI_Win_fence(int assert, MPI_Win win);
    int MPI_Put(const void* origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Win win);
    int MPI_Get(void* origin_addr,
                int origin_count,
                MPI_Datatype origin_datatype,
                int target_rank,
                MPI_Aint target_disp,
                int target_count,
                MPI_Datatype target_datatype,
                MPI_Win win);
    int MPI_Accumulate(const void* origin_addr,
                       int origin_count,
                       MPI_Datatype origin_datatype,
                       int target_rank,
                       MPI_Aint target_disp,
                       int target_count,
                       MPI_Datatype target_datatype,
                       MPI_Op op,
                       MPI_Win win);

#ifdef __cplusplus
}
#endif

#endif
