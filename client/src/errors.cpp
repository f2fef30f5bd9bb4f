#include "kwire/errors.hpp"

#include <string>

namespace kwire {
namespace {

class client_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.client"; }
    std::string message(int code) const override {
        switch (static_cast<client_errc>(code)) {
        case client_errc::delivery_timeout: return "record not delivered within delivery.timeout.ms";
        case client_errc::buffer_full: return "buffer.memory stayed full for max.block.ms";
        case client_errc::record_too_large: return "record larger than max.request.size (or buffer.memory)";
        case client_errc::unknown_partition: return "the topic has no such partition";
        case client_errc::producer_closed: return "the producer was closed before the record was delivered";
        case client_errc::flush_timeout: return "records still pending when the time ran out";
        case client_errc::partitioner_failed: return "the partitioner failed or chose a partition out of range";
        case client_errc::fatal_producer_error: return "the producer stopped after an unrecoverable error";
        case client_errc::would_block: return "blocking call on the client's own I/O thread (it would deadlock)";
        case client_errc::consumer_closed: return "the consumer is closed";
        case client_errc::not_assigned: return "the partition is not assigned to this consumer";
        case client_errc::no_group: return "this needs group.id";
        case client_errc::no_offset: return "no committed offset and auto.offset.reset=none";
        case client_errc::partitions_lost:
            return "commit refused: this member lost its partitions (it is no longer in the group); poll() rejoins";
        }
        return "kwire client error " + std::to_string(code);
    }
};

} // namespace

const std::error_category& client_category() noexcept {
    static const client_error_category category;
    return category;
}

} // namespace kwire
