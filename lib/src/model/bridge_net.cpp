// SPDX-License-Identifier: MIT
#include <i2sbseg/bridge_net.h>

#include <i2sbseg/bridge_net_conv_bn.h>
#include <i2sbseg/networks.h>

namespace i2sbseg {

BridgeNet make_bridge_net(int latent_channels, const BridgeArch& arch) {
  // The holder takes the base pointer: its forwarding constructor would
  // otherwise try to build the abstract base from it.
  std::shared_ptr<BridgeNetImpl> net;
  if (arch.type == BridgeType::kConvBn)
    net = std::make_shared<ConvBnBridgeImpl>(latent_channels, arch);
  else
    net = std::make_shared<GroupNormBridgeImpl>(latent_channels, arch);
  return BridgeNet(std::move(net));
}

}  // namespace i2sbseg
