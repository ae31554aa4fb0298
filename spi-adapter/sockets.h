/* SPDX-License-Identifier: BSD-3-Clause */
/** @file Socket creation and the local port map, shared by WSPSocket, WSPBind and WSPAccept. */
#pragma once

#include <cstdint>

#include "control/instance.h"
#include "socket_table.h"

namespace dpsan::spi {

/**
 * Open a socket slot and get its switch handle (R23). `core` < 0 picks the next poll core.
 * @return the socket (one reference held: the "open" one), or nullptr with *err set.
 */
Socket* create_socket(control::Instance* inst, DWORD catalog_id, int core, int* err);

/** Reserve `port` (0 = any ephemeral one). @return the port, or 0 when taken / exhausted. */
uint16_t reserve_port(uint16_t port);
void release_port(uint16_t port);

/** A listener for bound socket `s`, with its accept queue. @return nullptr when out of memory. */
fastpath::Listener* new_listener(const Socket* s);
/** Free a listener no poll core can reach any more. */
void free_listener(fastpath::Listener* l);

}  // namespace dpsan::spi
