// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC1155Receiver {
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external returns (bytes4);
    function onERC1155BatchReceived(address operator, address from, uint256[] calldata ids,
        uint256[] calldata values, bytes calldata data) external returns (bytes4);
}

/// @title StandInConditionalTokens: a minimal ERC-1155 standing in for the Conditional Tokens
/// Framework on a local node.
/// @notice Test and demo use only. Position ids are the CLOB token ids (uint256), as on Polygon.
/// Only the deployer (the local exchange) may mint; everything else is plain ERC-1155.
contract StandInConditionalTokens {
    address public immutable owner;
    mapping(uint256 => mapping(address => uint256)) private _balances;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id,
        uint256 value);
    event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids,
        uint256[] values);
    event ApprovalForAll(address indexed account, address indexed operator, bool approved);

    constructor() {
        owner = msg.sender;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0xd9b67a26 || interfaceId == 0x01ffc9a7; // ERC-1155, ERC-165
    }

    function balanceOf(address account, uint256 id) external view returns (uint256) {
        return _balances[id][account];
    }

    function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids)
        external view returns (uint256[] memory out)
    {
        require(accounts.length == ids.length, "length mismatch");
        out = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            out[i] = _balances[ids[i]][accounts[i]];
        }
    }

    function setApprovalForAll(address operator, bool approved) external {
        require(operator != msg.sender, "self approval");
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function mint(address to, uint256 id, uint256 value) external {
        require(msg.sender == owner, "only owner");
        require(to != address(0), "mint to zero");
        _balances[id][to] += value;
        emit TransferSingle(msg.sender, address(0), to, id, value);
        _checkReceiver(msg.sender, address(0), to, id, value, "");
    }

    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata values) external {
        require(msg.sender == owner, "only owner");
        require(to != address(0), "mint to zero");
        require(ids.length == values.length, "length mismatch");
        for (uint256 i = 0; i < ids.length; ++i) {
            _balances[ids[i]][to] += values[i];
        }
        emit TransferBatch(msg.sender, address(0), to, ids, values);
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external {
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "not approved");
        require(to != address(0), "transfer to zero");
        uint256 held = _balances[id][from];
        require(held >= value, "balance");
        _balances[id][from] = held - value;
        _balances[id][to] += value;
        emit TransferSingle(msg.sender, from, to, id, value);
        _checkReceiver(msg.sender, from, to, id, value, data);
    }

    function safeBatchTransferFrom(address from, address to, uint256[] calldata ids, uint256[] calldata values,
        bytes calldata data) external
    {
        require(ids.length == values.length, "length mismatch");
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "not approved");
        require(to != address(0), "transfer to zero");
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 held = _balances[ids[i]][from];
            require(held >= values[i], "balance");
            _balances[ids[i]][from] = held - values[i];
            _balances[ids[i]][to] += values[i];
        }
        emit TransferBatch(msg.sender, from, to, ids, values);
        if (to.code.length > 0) {
            bytes4 got = IERC1155Receiver(to).onERC1155BatchReceived(msg.sender, from, ids, values, data);
            require(got == IERC1155Receiver.onERC1155BatchReceived.selector, "receiver refused");
        }
    }

    function _checkReceiver(address operator, address from, address to, uint256 id, uint256 value,
        bytes memory data) private
    {
        // A contract that cannot hold ERC-1155 tokens must not silently swallow them.
        if (to.code.length > 0) {
            bytes4 got = IERC1155Receiver(to).onERC1155Received(operator, from, id, value, data);
            require(got == IERC1155Receiver.onERC1155Received.selector, "receiver refused");
        }
    }
}
